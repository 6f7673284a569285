using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventflowDb.Storage;
using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>bench compact [--mb N]</c>: compaction on an in-process store (default options, durable ADDs). Writes about N MB
/// (default 1024) of 4 KiB events into 100 streams, forgets 20 of them and truncates 20 to their last event, then
/// measures ADD throughput and latency (8 writers, one 200-byte event per ADD, each waiting for its acknowledgement) for
/// 5 s without compaction and again while a compaction runs; prints the compaction's rate (log bytes walked per second),
/// the events emptied and the disk space given back.
/// </summary>
internal static class CompactRun
{
    private const int Writers = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        int mb = args.Length >= 2 && args[0] == "--mb" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1024;
        string directory = Path.Combine(Path.GetTempPath(), "efdb-bench-compact-" + Guid.NewGuid().ToString("N"));
        var logger = Serilog.Core.Logger.None;
        var store = await FasterEventStore.OpenAsync(new StoreOptions { DataDirectory = directory, CompactionInterval = TimeSpan.Zero }, logger).ConfigureAwait(false);
        try
        {
            var fill = Stopwatch.StartNew();
            byte[] data = Encoding.UTF8.GetBytes("\"" + new string('d', 4000) + "\"");
            long events = (long)mb * 1024 * 1024 / 4100;
            var tasks = new List<Task>();
            for (int w = 0; w < 4; w++)
            {
                int writer = w;
                tasks.Add(Task.Run(async () =>
                {
                    for (long i = writer * 50; i < events; i += 4 * 50)
                    {
                        var batch = Enumerable.Range(0, 50).Select(_ => new NewEvent { Type = "Filled", Data = data }).ToArray();
                        await store.AppendAsync(new AppendRequest { Stream = "s-" + ((i / 50) % 100), Expected = ExpectedVersion.Any, Events = batch }).ConfigureAwait(false);
                    }
                }));
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
            for (int s = 0; s < 20; s++)
            {
                await store.ForgetStreamAsync("s-" + s).ConfigureAwait(false);
                string truncated = "s-" + (20 + s);
                await store.TruncateStreamAsync(truncated, store.GetStreamMetadata(truncated)!.Count - 1).ConfigureAwait(false);
            }

            Console.WriteLine($"filled {store.EventCount:N0} visible events, {mb} MB, in {fill.Elapsed.TotalSeconds:F1} s");

            var baseline = await LoadAsync(store, async () => await Task.Delay(5000).ConfigureAwait(false)).ConfigureAwait(false);
            CompactionResult? result = null;
            var during = await LoadAsync(store, async () => result = await store.CompactAsync().ConfigureAwait(false)).ConfigureAwait(false);
            double seconds = result!.Duration.TotalSeconds;
            Console.WriteLine($"ADD without compaction: {baseline.Rate:N0}/s, p50 {baseline.P50:F2} ms, p99 {baseline.P99:F2} ms");
            Console.WriteLine($"ADD during compaction:  {during.Rate:N0}/s, p50 {during.P50:F2} ms, p99 {during.P99:F2} ms");
            Console.WriteLine(
                $"compaction: {result.ScannedBytes / 1048576.0:F0} MB walked in {seconds:F2} s = {result.ScannedBytes / 1048576.0 / seconds:F0} MB/s; " +
                $"{result.ScrubbedEvents:N0} forgotten and {result.ReclaimedEvents:N0} truncated events emptied; " +
                $"disk {result.BytesBefore / 1048576.0:F0} MB -> {result.BytesAfter / 1048576.0:F0} MB");
            return 0;
        }
        finally
        {
            await store.DisposeAsync().ConfigureAwait(false);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(double Rate, double P50, double P99)> LoadAsync(FasterEventStore store, Func<Task> during)
    {
        var histogram = new LongHistogram(TimeStamp.Seconds(10), 3);
        using var stop = new CancellationTokenSource();
        long count = 0;
        byte[] data = Encoding.UTF8.GetBytes("{\"amount\":" + new string('1', 180) + "}");
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var local = new LongHistogram(TimeStamp.Seconds(10), 3);
            while (!stop.IsCancellationRequested)
            {
                long start = Stopwatch.GetTimestamp();
                await store.AppendAsync(new AppendRequest { Stream = "load-" + w, Expected = ExpectedVersion.Any, Events = [new NewEvent { Type = "Paid", Data = data }] }).ConfigureAwait(false);
                local.RecordValue(Stopwatch.GetTimestamp() - start);
                Interlocked.Increment(ref count);
            }

            lock (histogram)
            {
                histogram.Add(local);
            }
        })).ToList();
        await Task.Delay(500).ConfigureAwait(false); // warm
        Interlocked.Exchange(ref count, 0);
        var watch = Stopwatch.StartNew();
        await during().ConfigureAwait(false);
        double elapsed = watch.Elapsed.TotalSeconds;
        long done = Interlocked.Read(ref count);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(writers).ConfigureAwait(false);
        double ms(double q) => histogram.GetValueAtPercentile(q) * 1000.0 / Stopwatch.Frequency;
        return (done / elapsed, ms(50), ms(99));
    }
}
