using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>One side of one scenario: throughput and latency percentiles (milliseconds).</summary>
internal sealed record LoadResult(string Server, double OpsPerSecond, double EventsPerSecond, double P50Ms, double P99Ms, double P999Ms, double MaxMs, long Operations, long Errors, string Note = "")
{
    public static LoadResult FromHistogram(string server, HistogramBase histogram, TimeSpan elapsed, long operations, long eventsPerOperation, long errors, string note = "")
    {
        double seconds = elapsed.TotalSeconds;
        static double Ms(long micros) => micros / 1000.0;
        return new LoadResult(
            server,
            operations / seconds,
            operations * eventsPerOperation / seconds,
            Ms(histogram.GetValueAtPercentile(50)),
            Ms(histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetValueAtPercentile(99.9)),
            Ms(histogram.GetMaxValue()),
            operations,
            errors,
            note);
    }
}
