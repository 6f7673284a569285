using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventflowDb.Bench.Resp;
using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>The scenarios that redis-benchmark cannot drive: batches, stream reads, the full scan.</summary>
internal static class Workloads
{
    private const string Data = "{\"a\":1}";

    public static LoadResult AddBatchEventflow(int port, int connections, TimeSpan duration)
    {
        var requests = Enumerable.Range(0, connections).Select(c => new Loader.Request(RespCommand.Encode(AddBatch($"batch-{c}", 100)), 1)).ToArray();
        return Loader.Run("EventflowDB", port, connections, duration, (c, _) => requests[c], 100);
    }

    public static LoadResult AddBatchRedis(int port, int connections, TimeSpan duration)
    {
        var requests = Enumerable.Range(0, connections).Select(c => new Loader.Request(MultiXadd($"batch-{c}", 100), 102)).ToArray();
        return Loader.Run("Redis", port, connections, duration, (c, _) => requests[c], 100);
    }

    /// <summary>MULTI, <paramref name="count"/> XADDs to one stream, EXEC, as one write.</summary>
    public static byte[] MultiXadd(string stream, int count)
    {
        var bytes = new List<byte>();
        bytes.AddRange(RespCommand.Encode("MULTI"));
        var xadd = RespCommand.Encode("XADD", stream, "*", "a", "1");
        for (int i = 0; i < count; i++)
        {
            bytes.AddRange(xadd);
        }

        bytes.AddRange(RespCommand.Encode("EXEC"));
        return [.. bytes];
    }

    /// <summary>ADD of <paramref name="count"/> events (type T, data {"a":1}) to <paramref name="stream"/>, as one request.</summary>
    public static string[] AddBatch(string stream, int count)
    {
        var args = new List<string> { "ADD", stream, "any" };
        for (int i = 0; i < count; i++)
        {
            args.Add("T");
            args.Add(Data);
        }

        return [.. args];
    }

    /// <summary>Writes <paramref name="streams"/> streams of 100 events each (g-0, g-1, ...) on EventflowDB, one ADD each.</summary>
    public static void PreloadStreamsEventflow(int port, int streams)
    {
        using var ef = new RespConnection(port);
        for (int k = 0; k < streams; k++)
        {
            ef.Call(RespCommand.Encode(AddBatch($"g-{k}", 100)));
        }

        ThrowOnErrors(ef, "EventflowDB");
    }

    /// <summary>Writes <paramref name="streams"/> streams of 100 events each (g-0, g-1, ...) on Redis, one MULTI + 100 XADD + EXEC each.</summary>
    public static void PreloadStreamsRedis(int port, int streams)
    {
        using var redis = new RespConnection(port);
        for (int k = 0; k < streams; k++)
        {
            redis.Call(MultiXadd($"g-{k}", 100), 102);
        }

        ThrowOnErrors(redis, "Redis");
    }

    /// <summary>
    /// Writes <paramref name="count"/> events (rounded up to batches of 100) on EventflowDB: ADDs of 100 events to 100
    /// streams, 8 connections, 4 in flight each, for <see cref="ScanEventflow"/>.
    /// </summary>
    public static void PreloadScanEventflow(int port, long count)
    {
        var batches = Enumerable.Range(0, 100).Select(k => AddBatch($"scan-{k}", 100)).ToArray();
        PipelinedLoad.Run(port, 8, 4, (int)((count + 99) / 100), i => batches[i % batches.Length]);
    }

    private static void ThrowOnErrors(RespConnection connection, string server)
    {
        if (connection.Errors > 0)
        {
            throw new InvalidOperationException($"{server} preload: {connection.Errors} error replies, last: {connection.LastError}");
        }
    }

    public static LoadResult Get100(string server, int port, int connections, TimeSpan duration, int streams, bool redis)
    {
        var requests = Enumerable.Range(0, streams).Select(k => new Loader.Request(
            redis ? RespCommand.Encode("XRANGE", $"g-{k}", "-", "+", "COUNT", "100") : RespCommand.Encode("GET", $"g-{k}", "0", "100"),
            1)).ToArray();
        return Loader.Run(server, port, connections, duration, (c, i) => requests[(int)((c * 7919 + i) % streams)], 100);
    }

    /// <summary>Pages through the whole EventflowDB log with GETALL, 1,000 events a page, up to <paramref name="maxEvents"/>.</summary>
    public static LoadResult ScanEventflow(int port, long maxEvents)
    {
        using var connection = new RespConnection(port);
        var histogram = new LongHistogram(60_000_000, 3);
        string offset = "0";
        long events = 0;
        long pages = 0;
        var watch = Stopwatch.StartNew();
        while (events < maxEvents)
        {
            long start = Stopwatch.GetTimestamp();
            connection.Call(RespCommand.Encode("GETALL", offset, "1000"));
            histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
            int n = connection.ArraySizes[0];
            if (n <= 0)
            {
                break;
            }

            events += n;
            pages++;
            offset = Encoding.ASCII.GetString(connection.LastBulk, 7, 26);
        }

        var elapsed = watch.Elapsed;
        return LoadResult.FromHistogram("EventflowDB", histogram, elapsed, pages, 1, connection.Errors, $"{events:N0} events") with { EventsPerSecond = events / elapsed.TotalSeconds };
    }

    /// <summary>Fills the Redis stream "scan" with <paramref name="count"/> events with ids 1-1, 1-2, ...</summary>
    public static void PreloadScanRedis(int port, long count)
    {
        using var connection = new RespConnection(port);
        const int chunk = 1000;
        for (long k = 1; k <= count; k += chunk)
        {
            var bytes = new List<byte>();
            long last = Math.Min(count, k + chunk - 1);
            for (long id = k; id <= last; id++)
            {
                bytes.AddRange(RespCommand.Encode("XADD", "scan", "1-" + id.ToString(CultureInfo.InvariantCulture), "a", "1"));
            }

            connection.Call([.. bytes], (int)(last - k + 1));
        }
    }

    /// <summary>Pages through the Redis stream "scan" with XREAD COUNT 1000.</summary>
    public static LoadResult ScanRedis(int port)
    {
        using var connection = new RespConnection(port);
        var histogram = new LongHistogram(60_000_000, 3);
        long events = 0;
        long pages = 0;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            connection.Call(RespCommand.Encode("XREAD", "COUNT", "1000", "STREAMS", "scan", "1-" + events.ToString(CultureInfo.InvariantCulture)));
            histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
            int n = connection.ArraySizes[2];
            if (connection.ArraySizes[0] <= 0 || n <= 0)
            {
                break;
            }

            events += n;
            pages++;
        }

        var elapsed = watch.Elapsed;
        return LoadResult.FromHistogram("Redis", histogram, elapsed, pages, 1, connection.Errors, $"{events:N0} events") with { EventsPerSecond = events / elapsed.TotalSeconds };
    }
}
