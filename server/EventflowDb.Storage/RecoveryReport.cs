namespace EventflowDb.Storage;

/// <summary>What the recovery at open found and did.</summary>
public sealed class RecoveryReport
{
    /// <summary>Log address where the replay started: the snapshot's covered address, or the log's start.</summary>
    public long ReplayedFrom { get; init; }

    /// <summary>End of the last valid record: the tail of the log.</summary>
    public long Tail { get; init; }

    /// <summary>Entries (ADDs) replayed from the log into the index and state.</summary>
    public long ReplayedEntries { get; init; }

    /// <summary>Events in the replayed entries.</summary>
    public long ReplayedEvents { get; init; }

    /// <summary>True when a snapshot was loaded (so only the log after it was replayed).</summary>
    public bool FromSnapshot { get; init; }

    /// <summary>Why the log was cut at <see cref="Tail"/> (a torn tail, or the damage a repair cut at), or null when it ended cleanly.</summary>
    public string? TailProblem { get; init; }

    /// <summary>Non-zero bytes after the tail in the tail's page, erased by the cut.</summary>
    public long IgnoredBytes { get; init; }

    /// <summary>Events a repair removed from the log (0 unless the store was opened with <see cref="StoreOptions.Repair"/> and was damaged).</summary>
    public long EventsLostByRepair { get; init; }

    /// <summary>Lifecycle changes (control records: DELETE, TRUNCATE, STREAMMETA, SNAPSHOT, FORGET) a repair removed from the log.</summary>
    public long LifecycleChangesLostByRepair { get; init; }

    /// <summary>Where a repair put copies of the damaged files, or null.</summary>
    public string? DamagedFilesDirectory { get; init; }

    /// <summary>Wall time of the whole open, in milliseconds.</summary>
    public long ElapsedMs { get; set; }

    /// <summary>Hash-index checkpoint the index was recovered from (empty when rebuilt).</summary>
    internal Guid IndexToken { get; init; }

    internal long MaxCommitNumber { get; init; }

    internal uint MaxEpoch { get; init; }
}
