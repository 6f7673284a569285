using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// The store as a cluster member serves it: reads go to this member's own store (it holds the entries the majority
/// committed); writes become Raft entries, proposed by the leader only, and answer with the leader's own result of
/// applying them. On a follower a write fails with <see cref="ClusterUnavailableException"/> (READONLY or TRYAGAIN).
/// </summary>
internal sealed class ReplicatedEventStore(IEventStore store, ClusterNode node) : IEventStore
{
    public IEventStore Inner => store;

    public ClusterNode Node => node;

    public StoreStatistics Statistics => store.Statistics;

    public long EventCount => store.EventCount;

    public long StreamCount => store.StreamCount;

    public long EventCountEstimate => store.EventCountEstimate;

    public long StreamCountEstimate => store.StreamCountEstimate;

    public StoreChecksum Checksum => store.Checksum;

    public string? ReadOnlyReason => store.ReadOnlyReason;

    public long SizeOnDisk => store.SizeOnDisk;

    public async ValueTask<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var outcome = await node.ProposeAsync(
            (stamps, now) =>
            {
                var events = new NewEvent[request.Events.Count];
                for (int i = 0; i < events.Length; i++)
                {
                    var e = request.Events[i];
                    events[i] = new NewEvent
                    {
                        Id = UlidCodec.ToUlid(stamps.Next(now)),
                        Type = e.Type,
                        Data = e.Data,
                        Metadata = e.Metadata,
                        CausationId = e.CausationId,
                        CorrelationId = e.CorrelationId,
                        MessageId = e.MessageId,
                    };
                }

                return new ReplicatedCommand
                {
                    Kind = ReplicatedKind.Append,
                    Mark = events[0].Id!.Value,
                    Stream = request.Stream,
                    Append = new AppendRequest { Stream = request.Stream, Expected = request.Expected, Events = events, AddedAt = now },
                };
            },
            cancellationToken).ConfigureAwait(false);
        return (AppendResult)outcome;
    }

    private async Task<LifecycleResult> ChangeAsync(ReplicatedKind kind, string stream, long? a, long? b, ReadOnlyMemory<byte> data, CancellationToken token)
    {
        var outcome = await node.ProposeAsync(
            (stamps, now) => new ReplicatedCommand { Kind = kind, Mark = UlidCodec.ToUlid(stamps.Next(now)), Stream = stream, A = a, B = b, Data = data },
            token).ConfigureAwait(false);
        return (LifecycleResult)outcome;
    }

    // A lifecycle change takes the leader's time (its mark's timestamp) on every member; addedAtMs is ignored here.
    public Task<LifecycleResult> DeleteStreamAsync(string stream, long? expectedVersion, long? addedAtMs = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(ReplicatedKind.Delete, stream, expectedVersion, null, default, cancellationToken);

    public Task<LifecycleResult> TruncateStreamAsync(string stream, long version, long? addedAtMs = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(ReplicatedKind.Truncate, stream, version, null, default, cancellationToken);

    public Task<LifecycleResult> SetStreamMetadataAsync(string stream, long? maxCount, long? maxAgeMs, long? addedAtMs = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(ReplicatedKind.StreamMeta, stream, maxCount, maxAgeMs, default, cancellationToken);

    public Task<LifecycleResult> SaveSnapshotAsync(string stream, long version, ReadOnlyMemory<byte> data, long? addedAtMs = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(ReplicatedKind.Snapshot, stream, version, null, data, cancellationToken);

    public Task<LifecycleResult> ForgetStreamAsync(string stream, long? addedAtMs = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(ReplicatedKind.Forget, stream, null, null, default, cancellationToken);

    public ValueTask<int> ReadStreamAsync(ReadOnlyMemory<byte> streamUtf8, long fromVersion, int limit, EventPage page, CancellationToken cancellationToken = default) =>
        store.ReadStreamAsync(streamUtf8, fromVersion, limit, page, cancellationToken);

    public ValueTask<int> ReadAllAsync(Ulid after, int limit, EventPage page, CancellationToken cancellationToken = default) =>
        store.ReadAllAsync(after, limit, page, cancellationToken);

    public ValueTask<ReadAllProgress> ReadAllAsync(Ulid after, int limit, EventPage page, IEventFilter? filter, int maxScanned, CancellationToken cancellationToken = default) =>
        store.ReadAllAsync(after, limit, page, filter, maxScanned, cancellationToken);

    public ValueTask<bool> WaitForCommitAfterAsync(Ulid after, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        store.WaitForCommitAfterAsync(after, timeout, cancellationToken);

    public int ListStreams(long skip, int limit, EventPage page) => store.ListStreams(skip, limit, page);

    public Task<BackupResult> BackupAsync(string directory, CancellationToken cancellationToken = default) => store.BackupAsync(directory, cancellationToken);

    public StreamMetadata? GetStreamMetadata(string stream) => store.GetStreamMetadata(stream);

    public StreamSnapshot? ReadSnapshot(string stream) => store.ReadSnapshot(stream);

    public Task CheckpointAsync(CancellationToken cancellationToken = default) => store.CheckpointAsync(cancellationToken);

    /// <summary>
    /// Compaction is each member's own business: it rewrites only what committed entries (DELETE, TRUNCATE, FORGET, …)
    /// made dead, so it is not a Raft entry; positions, ids and CHECKSUM stay equal on every member.
    /// </summary>
    public Task<CompactionResult> CompactAsync(CancellationToken cancellationToken = default) => store.CompactAsync(cancellationToken);

    /// <summary>The cluster member stops first (its last applies reach the store), then the store closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await node.DisposeAsync().ConfigureAwait(false);
        await store.DisposeAsync().ConfigureAwait(false);
    }
}
