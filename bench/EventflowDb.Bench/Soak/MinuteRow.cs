namespace EventflowDb.Bench.Soak;

/// <summary>One minute of the run: the averages and peaks of its samples, the probe's latencies, and what the load did.</summary>
internal sealed record MinuteRow(
    int Minute,
    double RssAvgMiB,
    double RssMaxMiB,
    double ThreadsAvg,
    int ThreadsMax,
    double ClientsAvg,
    int ClientsMax,
    double AddP50Ms,
    double AddP99Ms,
    double GetP50Ms,
    double GetP99Ms,
    long Probes,
    long EventsWritten,
    long EventsInStore,
    long Delivered,
    long StalledDropped,
    long Churned,
    long BadRequests,
    long BadUnexpected,
    long LoadErrors)
{
    /// <summary>One row per started minute (1-based) of <paramref name="samples"/>; latencies are NaN in a minute without probes.</summary>
    public static List<MinuteRow> Build(IReadOnlyList<SoakSample> samples, LatencyProbe probe)
    {
        var rows = new List<MinuteRow>();
        var previous = samples.Count > 0 ? samples[0] with { Totals = new long[samples[0].Totals.Length] } : null;
        foreach (var minute in samples.GroupBy(s => MinuteOf(s.Seconds)).OrderBy(g => g.Key))
        {
            var all = minute.ToList();
            var last = all[^1];
            long Delta(Counter c) => last.Total(c) - previous!.Total(c);
            var rss = all.Where(s => s.ResidentBytes >= 0).Select(s => s.ResidentBytes / 1048576.0).DefaultIfEmpty(double.NaN).ToList();
            var threads = all.Where(s => s.Threads >= 0).Select(s => s.Threads).DefaultIfEmpty(-1).ToList();
            var clients = all.Where(s => s.Clients >= 0).Select(s => s.Clients).DefaultIfEmpty(-1).ToList();
            var latency = probe.Minute(minute.Key);
            double Ms(HdrHistogram.HistogramBase? h, double percentile) => h is null || h.TotalCount == 0 ? double.NaN : h.GetValueAtPercentile(percentile) / 1000.0;
            rows.Add(new MinuteRow(
                minute.Key + 1,
                rss.Average(),
                rss.Max(),
                threads.Average(),
                threads.Max(),
                clients.Average(),
                clients.Max(),
                Ms(latency?.Add, 50),
                Ms(latency?.Add, 99),
                Ms(latency?.Get, 50),
                Ms(latency?.Get, 99),
                latency?.Add.TotalCount ?? 0,
                Delta(Counter.EventsWritten),
                all.Select(s => s.EventsInStore).Max(),
                Delta(Counter.Delivered),
                Delta(Counter.StalledDropped),
                Delta(Counter.Churned),
                Delta(Counter.BadRequests),
                Delta(Counter.BadUnexpected),
                Delta(Counter.LoadErrors)));
            previous = last;
        }

        return rows;
    }

    /// <summary>The 0-based minute a sample taken <paramref name="seconds"/> into the run belongs to (a sample at 60.0 s closes minute 0).</summary>
    public static int MinuteOf(double seconds) => Math.Max(0, (int)Math.Ceiling(seconds / 60) - 1);
}
