using System.Diagnostics;

namespace EventflowDb.Storage;

/// <summary>
/// Running totals of the store's work since it opened, for INFO and /metrics. The store only counts; what the server
/// makes of the numbers (percentiles, Prometheus series) stays out of the storage layer. Counters are read without a
/// lock, each on its own, so two of them may be a commit apart.
/// </summary>
public sealed class StoreStatistics
{
    private readonly Func<long> _logBytes;
    private long _commits;
    private long _appends;
    private long _events;
    private long _bytes;
    private long _checkpoints;
    private long _lastCheckpointUnixMs;

    internal StoreStatistics(Func<long> logBytes, DateTimeOffset openedAt)
    {
        _logBytes = logBytes;
        OpenedAt = openedAt;
    }

    /// <summary>Raised on the committer after each durable commit with how long it took (commit request to durable).</summary>
    public event Action<TimeSpan>? CommitTimed;

    /// <summary>When the store finished opening (recovery included).</summary>
    public DateTimeOffset OpenedAt { get; }

    /// <summary>Log commits (each one fsync of the log; group commit: many appends share one).</summary>
    public long Commits => Volatile.Read(ref _commits);

    /// <summary>Appends (ADDs) made durable.</summary>
    public long Appends => Volatile.Read(ref _appends);

    /// <summary>Events made durable.</summary>
    public long Events => Volatile.Read(ref _events);

    /// <summary>Log bytes made durable by appends (records with their headers).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Index checkpoints taken.</summary>
    public long Checkpoints => Volatile.Read(ref _checkpoints);

    /// <summary>When the last index checkpoint was taken; null when none was since the store opened.</summary>
    public DateTimeOffset? LastCheckpointAt =>
        Volatile.Read(ref _lastCheckpointUnixMs) is var ms and > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>Bytes of the event log between its begin and its tail (what a scan of the whole log reads).</summary>
    public long LogBytes => _logBytes();

    internal void RecordCommitDuration(long startedTimestamp) =>
        CommitTimed?.Invoke(Stopwatch.GetElapsedTime(startedTimestamp));

    internal void RecordCommitCount() => Interlocked.Increment(ref _commits);

    internal void RecordApplied(int appends, long events, long bytes)
    {
        if (appends == 0)
        {
            return;
        }

        Interlocked.Add(ref _appends, appends);
        Interlocked.Add(ref _events, events);
        Interlocked.Add(ref _bytes, bytes);
    }

    internal void RecordCheckpoint()
    {
        Interlocked.Increment(ref _checkpoints);
        Volatile.Write(ref _lastCheckpointUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }
}
