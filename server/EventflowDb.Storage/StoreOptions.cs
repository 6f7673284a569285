namespace EventflowDb.Storage;

/// <summary>Settings of the on-disk store (a record: variations are written with <c>with</c>).</summary>
public sealed record StoreOptions
{
    /// <summary>Directory holding the log, the index and checkpoints. Created when missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>How often the index is checkpointed while writes go on.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a background compaction runs (<see cref="FasterEventStore.CompactAsync"/>); a run is skipped when no
    /// lifecycle change was applied since the last compaction and no stream has maxCount or maxAge. Zero: never.
    /// </summary>
    public TimeSpan CompactionInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>FasterLog page size as a power of two (bytes). An ADD's record must fit in one page.</summary>
    public int LogPageSizeBits { get; init; } = 22;

    /// <summary>FasterLog in-memory buffer as a power of two (bytes).</summary>
    public int LogMemorySizeBits { get; init; } = 26;

    /// <summary>
    /// Log segment file size as a power of two (bytes) for a new store; an existing store keeps the size it
    /// was created with (recorded in store.meta). 32 MiB: appends sync about twice as fast into a prefilled
    /// segment as into a growing file, and only the first segment of a store is not prefilled.
    /// </summary>
    public int LogSegmentSizeBits { get; init; } = 25;

    /// <summary>Zero-fill the next log segment file ahead of time, off the hot path (syncs into written blocks are about twice as fast as into a growing file).</summary>
    public bool PrefillLogSegments { get; init; } = true;

    /// <summary>
    /// Write log segments with direct synchronous I/O (O_DIRECT | O_DSYNC) where the file system takes it: no copy
    /// into the page cache and no write-back, about a fifth less server CPU under a steady ADD load. Falls back to
    /// FASTER's buffered device when direct I/O is not available, or when this is false.
    /// </summary>
    public bool DirectIo { get; init; } = true;

    /// <summary>
    /// Open a damaged store anyway (<c>--repair</c>): the damaged segment files are first copied to
    /// <c>damaged-&lt;UTC timestamp&gt;/</c> in the data directory, then the log is cut at the damage and the events lost
    /// are logged. Without it a damaged store refuses to open (<see cref="StoreDamagedException"/>).
    /// </summary>
    public bool Repair { get; init; }

    /// <summary>
    /// Any failed append makes the store read-only, even one that wrote nothing (a failed index read). A cluster member
    /// sets it: its writes are a sequence every member applies, and a store that skipped one and took the next would hold
    /// a different history from the others'.
    /// </summary>
    public bool ReadOnlyOnAnyFailedAppend { get; init; }

    /// <summary>Hash index size of the event index as a power of two of 64-byte buckets (21: 128 MiB, room for about 16 M keys without overflow buckets).</summary>
    public int IndexBucketBits { get; init; } = 21;

    /// <summary>Event index log page size as a power of two (bytes).</summary>
    public int IndexPageSizeBits { get; init; } = 22;

    /// <summary>Event index in-memory log as a power of two (bytes); older index records are read from disk.</summary>
    public int IndexMemorySizeBits { get; init; } = 27;

    /// <summary>Event index log segment size as a power of two (bytes).</summary>
    public int IndexSegmentSizeBits { get; init; } = 30;

    /// <summary>Every how many index checkpoints the hash index itself is written too (the others write only the index log).</summary>
    public int FullIndexCheckpointEvery { get; init; } = 12;

    /// <summary>
    /// Null (default): an ADD is acknowledged only once it is durable (group commit, fsync).
    /// Set: relaxed durability. An ADD is acknowledged as soon as it is in the log buffer and the log is
    /// committed (flushed and synced) every this often; a crash may lose the ADDs acknowledged during
    /// the last interval (whole ADDs, and only a suffix of the log). Events become readable by GET and
    /// GETALL once the commit covering them is done.
    /// </summary>
    public TimeSpan? FlushInterval { get; init; }

    /// <summary>
    /// In relaxed mode the log is committed at least this often even when <see cref="FlushInterval"/> is longer:
    /// an acknowledged append stays in memory until its commit, so with a one-second interval a busy store
    /// would carry a second of appends through garbage collections (about a third more CPU per ADD), and reads
    /// would not see an acknowledged append for up to a second. Committing sooner only narrows what a crash can lose.
    /// </summary>
    public TimeSpan RelaxedCommitEvery { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Wraps each FASTER device the store creates (event log, index log, index checkpoint files) before use; null: none.
    /// The fault-injection seam of the tests (failed, short or slow writes and reads); production leaves it unset.
    /// </summary>
    public Func<StoreDeviceRole, FASTER.core.IDevice, FASTER.core.IDevice>? DeviceDecorator { get; init; }

    /// <summary>Largest encoded ADD record in bytes; the network layer rejects larger requests with TOOLARGE.</summary>
    public int MaxAppendBytes => (1 << LogPageSizeBits) - 4096;
}
