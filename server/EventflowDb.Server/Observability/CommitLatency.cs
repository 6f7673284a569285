using EventflowDb.Storage;
using HdrHistogram;

namespace EventflowDb.Server.Observability;

/// <summary>
/// Durations of the store's log commits (request to durable: the fsync an acknowledged ADD waits for), since the
/// server started, as percentiles for INFO. HdrHistogram keeps three significant digits from 1 us to one minute.
/// </summary>
internal sealed class CommitLatency : IDisposable
{
    private const long HighestMicroseconds = 60_000_000;

    private readonly StoreStatistics _statistics;
    private readonly LongConcurrentHistogram _histogram = new(1, HighestMicroseconds, 3);

    public CommitLatency(StoreStatistics statistics)
    {
        _statistics = statistics;
        _statistics.CommitTimed += Record;
    }

    /// <summary>Commits recorded.</summary>
    public long Count => _histogram.TotalCount;

    /// <summary>The duration in microseconds below which <paramref name="percentile"/> % of the commits finished; 0 before the first.</summary>
    public long Percentile(double percentile) => Count == 0 ? 0 : _histogram.GetValueAtPercentile(percentile);

    public long MaxMicroseconds => Count == 0 ? 0 : _histogram.GetMaxValue();

    public void Dispose() => _statistics.CommitTimed -= Record;

    private void Record(TimeSpan duration) =>
        _histogram.RecordValue(Math.Clamp(duration.Ticks / 10, 1, HighestMicroseconds));
}
