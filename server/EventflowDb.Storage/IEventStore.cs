using NUlid;

namespace EventflowDb.Storage;

/// <summary>
/// The event store as the network layer sees it. No FASTER type crosses this boundary.
/// Only events whose commit is durable are visible to readers.
/// </summary>
public interface IEventStore : IAsyncDisposable
{
    /// <summary>
    /// Appends all events of <paramref name="request"/> atomically to one stream, after checking the
    /// expected version and message-id idempotency. Completes only once the events are durable
    /// (or rejected). The request's memory must stay valid until the returned task completes.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken = default);

    /// <summary>Fills <paramref name="page"/> with the JSON of events of one stream with version &gt;= <paramref name="fromVersion"/>, oldest first, at most <paramref name="limit"/>. Returns the count.</summary>
    ValueTask<int> ReadStreamAsync(ReadOnlyMemory<byte> streamUtf8, long fromVersion, int limit, EventPage page, CancellationToken cancellationToken = default);

    /// <summary>Fills <paramref name="page"/> with events of all streams in log order whose id is strictly greater than <paramref name="after"/> (Ulid.Empty: from the start), at most <paramref name="limit"/>.</summary>
    ValueTask<int> ReadAllAsync(Ulid after, int limit, EventPage page, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="ReadAllAsync(Ulid, int, EventPage, CancellationToken)"/>, but adds only events that
    /// <paramref name="filter"/> accepts (all when null), and stops after examining <paramref name="maxScanned"/> events.
    /// </summary>
    ValueTask<ReadAllProgress> ReadAllAsync(Ulid after, int limit, EventPage page, IEventFilter? filter, int maxScanned, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits, without polling, until an event with an id greater than <paramref name="after"/> is committed,
    /// at most <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no limit). True when one is
    /// (at once when one already is); false on time-out, cancellation or store shutdown.
    /// </summary>
    ValueTask<bool> WaitForCommitAfterAsync(Ulid after, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Fills <paramref name="page"/> with stream summaries <c>{"stream","version","events","added_at","updated_at"}</c> in stream creation order.</summary>
    int ListStreams(long skip, int limit, EventPage page);

    /// <summary>Running totals of commits, appends, bytes and checkpoints, and the commit-duration event (INFO, /metrics).</summary>
    StoreStatistics Statistics { get; }

    /// <summary>Exact number of committed events. O(1).</summary>
    long EventCount { get; }

    /// <summary>Exact number of streams holding committed events. O(1).</summary>
    long StreamCount { get; }

    /// <summary>Event count as of the last index checkpoint (or recovery).</summary>
    long EventCountEstimate { get; }

    /// <summary>Stream count as of the last index checkpoint (or recovery).</summary>
    long StreamCountEstimate { get; }

    /// <summary>Id of the last committed event (Ulid.Empty when none) and the chained 64-bit checksum over all committed events.</summary>
    StoreChecksum Checksum { get; }

    /// <summary>
    /// Null while the store accepts appends; otherwise why it went read-only (a failed write: disk full, I/O error).
    /// Read-only lasts until restart; every append then fails with <see cref="StoreReadOnlyException"/>, reads go on.
    /// </summary>
    string? ReadOnlyReason { get; }

    /// <summary>Bytes the store occupies on disk (log, index, checkpoints).</summary>
    long SizeOnDisk { get; }

    /// <summary>
    /// Copies the store, as of the last commit when it starts, into <paramref name="directory"/> while appends go on. The
    /// directory becomes a data directory serving exactly those events; a later backup into it copies only what changed.
    /// Throws <see cref="IOException"/> for a directory that cannot hold the backup.
    /// </summary>
    Task<BackupResult> BackupAsync(string directory, CancellationToken cancellationToken = default);

    /// <summary>
    /// DELETE: hides every event the stream holds now (it reads as empty and leaves LISTSTREAMS until written again; its
    /// versions continue). <paramref name="expectedVersion"/>, when given, must equal the stream's count. Durable when it completes.
    /// </summary>
    Task<LifecycleResult> DeleteStreamAsync(string stream, long? expectedVersion, long? addedAtMs = null, CancellationToken cancellationToken = default);

    /// <summary>TRUNCATE: hides the stream's versions below <paramref name="version"/> (at most the stream's count). Durable when it completes.</summary>
    Task<LifecycleResult> TruncateStreamAsync(string stream, long version, long? addedAtMs = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// STREAMMETA SET: only the newest <paramref name="maxCount"/> events, and none older than <paramref name="maxAgeMs"/>, are
    /// returned (0 = no limit; null = the field keeps its value, as of the change's place in the log, so concurrent
    /// changes of different fields both hold). Durable when it completes.
    /// </summary>
    Task<LifecycleResult> SetStreamMetadataAsync(string stream, long? maxCount, long? maxAgeMs, long? addedAtMs = null, CancellationToken cancellationToken = default);

    /// <summary>The stream's lifecycle settings, or null when the stream was never written.</summary>
    StreamMetadata? GetStreamMetadata(string stream);

    /// <summary>SNAPSHOT SAVE: stores <paramref name="data"/> (one JSON value) as the stream's latest snapshot, of a version it holds. Durable when it completes.</summary>
    Task<LifecycleResult> SaveSnapshotAsync(string stream, long version, ReadOnlyMemory<byte> data, long? addedAtMs = null, CancellationToken cancellationToken = default);

    /// <summary>SNAPSHOT GET: the stream's latest snapshot, or null.</summary>
    StreamSnapshot? ReadSnapshot(string stream);

    /// <summary>FORGET: every event the stream holds now renders without data and metadata (and with "forgotten": true); its snapshot is dropped. Durable when it completes.</summary>
    Task<LifecycleResult> ForgetStreamAsync(string stream, long? addedAtMs = null, CancellationToken cancellationToken = default);

    // The lifecycle changes above take addedAtMs: the change's time in its record (null: now). A cluster passes the
    // leader's time so that every member writes the same record.

    /// <summary>Forces an index checkpoint now (tests, shutdown).</summary>
    Task CheckpointAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs one compaction now (COMPACT): removes the data and metadata of forgotten events (FORGET) and the superseded
    /// snapshots of forgotten streams from the log files, in place; positions, ids and CHECKSUM stay. Reads, appends and
    /// subscriptions go on meanwhile. Throws <see cref="StoreReadOnlyException"/> while the store is read-only.
    /// </summary>
    Task<CompactionResult> CompactAsync(CancellationToken cancellationToken = default);
}

/// <summary>Last event id and chained checksum.</summary>
public readonly record struct StoreChecksum(Ulid LastId, ulong Value);
