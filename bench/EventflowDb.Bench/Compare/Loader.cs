using System.Diagnostics;
using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>Closed-loop load: each connection sends one request, reads its replies, records the latency, repeats.</summary>
internal static class Loader
{
    /// <summary>A request and how many replies it produces (MULTI/EXEC batches produce several).</summary>
    public readonly record struct Request(byte[] Bytes, int Replies);

    public static LoadResult Run(string server, int port, int connections, TimeSpan duration, Func<int, long, Request> next, long eventsPerOperation)
    {
        var histograms = new LongHistogram[connections];
        var counts = new long[connections];
        var errors = new long[connections];
        string? lastError = null;
        var watch = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, connections).Select(c => new Thread(() =>
        {
            var histogram = new LongHistogram(60_000_000, 3);
            using var connection = new RespConnection(port);
            long i = 0;
            long shortReplies = 0;
            while (watch.Elapsed < duration)
            {
                var request = next(c, i++);
                long start = Stopwatch.GetTimestamp();
                connection.Call(request.Bytes, request.Replies);
                histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));

                // Throughput counts eventsPerOperation per request: check the reply really carried that many.
                if (eventsPerOperation > 1 && connection.ArraySizes[0] != eventsPerOperation)
                {
                    shortReplies++;
                    lastError = $"a reply of {connection.ArraySizes[0]} elements where {eventsPerOperation} were expected";
                }
            }

            histograms[c] = histogram;
            counts[c] = i;
            errors[c] = connection.Errors + shortReplies;
            if (connection.LastError is { } e)
            {
                lastError = e;
            }
        })
        { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var elapsed = watch.Elapsed;
        var total = new LongHistogram(60_000_000, 3);
        foreach (var h in histograms)
        {
            total.Add(h);
        }

        long errorCount = errors.Sum();
        if (errorCount > 0)
        {
            Console.Error.WriteLine($"  {server}: {errorCount} error replies, last: {lastError}");
        }

        return LoadResult.FromHistogram(server, total, elapsed, counts.Sum(), eventsPerOperation, errorCount);
    }
}
