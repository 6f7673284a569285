namespace EventflowDb.Storage;

/// <summary>
/// Everything readers see: committed counters, the checksum chain, stream counts, the sparse id index,
/// and the address up to which entries are applied. Mutated only by the committer (or recovery), one
/// entry at a time in log order; readers read without locks.
/// </summary>
internal sealed class CommittedState
{
    private readonly object _applyLock = new();
    private long _appliedEnd;
    private long _eventCount;
    private long _streamCount;
    private long _hiddenEvents;
    private long _visibleEvents;
    private long _deletedStreams;
    private ChecksumBox? _checksum;
    private UInt128 _lastId;
    private ulong _hash;
    private long _lifecycleChanges;

    public CommittedState(StreamTable streams, SparseIdIndex sparse)
    {
        Streams = streams;
        Sparse = sparse;
    }

    public StreamTable Streams { get; }

    public SparseIdIndex Sparse { get; }

    public CommitNotifier Notifier { get; } = new();

    /// <summary>Held while a batch is applied; a checkpoint takes it to capture a consistent view.</summary>
    public object ApplyLock => _applyLock;

    /// <summary>End address of the last applied (committed) entry; readers never look past it.</summary>
    public long AppliedEnd => Volatile.Read(ref _appliedEnd);

    public long EventCount => Volatile.Read(ref _eventCount);

    public long StreamCount => Volatile.Read(ref _streamCount);

    /// <summary>Events hidden by DELETE, TRUNCATE and maxCount (the log's events minus these is EVENTCOUNT).</summary>
    public long HiddenEvents => Volatile.Read(ref _hiddenEvents);

    /// <summary>
    /// EVENTCOUNT: <see cref="EventCount"/> − <see cref="HiddenEvents"/>, published as one value once per applied entry or
    /// change. Reading the two counters separately could pair a new hidden count with an old event count and see the
    /// total go back (a maxCount stream hides one event per ADD).
    /// </summary>
    public long VisibleEvents => Volatile.Read(ref _visibleEvents);

    /// <summary>Streams that read as deleted (STREAMCOUNT does not count them).</summary>
    public long DeletedStreams => Volatile.Read(ref _deletedStreams);

    /// <summary>Entries applied so far (spacing of the sparse id index).</summary>
    public long EntryCount { get; private set; }

    public UInt128 LastId => _lastId;

    public ulong Hash => _hash;

    /// <summary>Lifecycle changes applied since open (what a background compaction looks at).</summary>
    public long LifecycleChanges => Volatile.Read(ref _lifecycleChanges);

    public StoreChecksum Checksum => Volatile.Read(ref _checksum)?.Value ?? new StoreChecksum(NUlid.Ulid.Empty, 0);

    public void Restore(long appliedEnd, long eventCount, long streamCount, long entryCount, UInt128 lastId, ulong hash)
    {
        _appliedEnd = appliedEnd;
        _eventCount = eventCount;
        _streamCount = streamCount;
        EntryCount = entryCount;
        _lastId = lastId;
        _hash = hash;
        PublishVisible();
        Publish();
    }

    /// <summary>Applies one committed entry (already validated).</summary>
    public void Apply(ReadOnlySpan<byte> entry, long address, long end, StreamInfo stream)
        => Apply(EntrySummary.Of(entry, _hash), address, end, stream);

    /// <summary>Applies one committed entry from its summary, computed in log order against the hash chain before it.</summary>
    public void Apply(in EntrySummary entry, long address, long end, StreamInfo stream)
    {
        if (stream.Count == 0)
        {
            Volatile.Write(ref _streamCount, _streamCount + 1);
        }

        _lastId = entry.LastId;
        _hash = entry.HashAfter;
        if (EntryCount % SparseIdIndex.Spacing == 0)
        {
            Sparse.Add(entry.FirstId, address);
        }

        EntryCount++;
        var lifecycle = stream.Lifecycle;
        if (lifecycle is null)
        {
            stream.SetCommitted(stream.Count + entry.EventCount, entry.AddedAtMs);
        }
        else
        {
            long count = stream.Count;
            long hidden = StreamLifecycle.Hidden(lifecycle, count);
            bool deleted = StreamLifecycle.IsDeleted(lifecycle, count);
            var after = lifecycle.WrittenTo(count + entry.EventCount);
            if (!ReferenceEquals(after, lifecycle))
            {
                stream.Lifecycle = after; // written past a DELETE: the mark is spent (live and replay both apply here)
            }

            stream.SetCommitted(count + entry.EventCount, entry.AddedAtMs);
            Recount(after, count + entry.EventCount, hidden, deleted);
        }

        Volatile.Write(ref _eventCount, _eventCount + entry.EventCount);
        PublishVisible();
        Volatile.Write(ref _appliedEnd, end);
    }

    /// <summary>Applies one committed control record: the stream's lifecycle state changes; counters, ids and the checksum chain do not.</summary>
    public void ApplyControl(in ControlChange change, long address, long end, StreamInfo stream)
    {
        if (change.Kind != ControlKind.Padding)
        {
            Volatile.Write(ref _lifecycleChanges, _lifecycleChanges + 1);
        }

        var before = stream.Lifecycle;
        long count = stream.Count;
        long hidden = StreamLifecycle.Hidden(before, count);
        bool deleted = StreamLifecycle.IsDeleted(before, count);
        var after = StreamLifecycle.Apply(before, change, address);
        stream.Lifecycle = after;
        Recount(after, count, hidden, deleted);
        PublishVisible();
        Volatile.Write(ref _appliedEnd, end);
    }

    /// <summary>Recomputes the hidden-event and deleted-stream totals from the stream table (after loading a snapshot).</summary>
    public void RecountAll()
    {
        long hidden = 0;
        long deleted = 0;
        for (long i = 0; i < Streams.Count; i++)
        {
            var stream = Streams[i];
            if (stream.Lifecycle is { } lifecycle && lifecycle.WrittenTo(stream.Count) is var spent && !ReferenceEquals(spent, lifecycle))
            {
                stream.Lifecycle = spent; // a checkpoint from before marks were cleared
            }

            hidden += StreamLifecycle.Hidden(stream.Lifecycle, stream.Count);
            deleted += StreamLifecycle.IsDeleted(stream.Lifecycle, stream.Count) ? 1 : 0;
        }

        Volatile.Write(ref _hiddenEvents, hidden);
        Volatile.Write(ref _deletedStreams, deleted);
        PublishVisible();
    }

    /// <summary>Publishes <see cref="VisibleEvents"/> from the counters (only the applying thread writes them).</summary>
    private void PublishVisible() => Volatile.Write(ref _visibleEvents, _eventCount - _hiddenEvents);

    private void Recount(StreamLifecycle after, long countAfter, long hiddenBefore, bool deletedBefore)
    {
        long hidden = StreamLifecycle.Hidden(after, countAfter);
        bool deleted = StreamLifecycle.IsDeleted(after, countAfter);
        if (hidden != hiddenBefore)
        {
            Volatile.Write(ref _hiddenEvents, _hiddenEvents + hidden - hiddenBefore);
        }

        if (deleted != deletedBefore)
        {
            Volatile.Write(ref _deletedStreams, _deletedStreams + (deleted ? 1 : -1));
        }
    }

    /// <summary>Makes the checksum of what was applied visible and wakes waiters (once per batch).</summary>
    public void Publish()
    {
        Volatile.Write(ref _checksum, new ChecksumBox(new StoreChecksum(UlidCodec.ToUlid(_lastId), _hash)));
        Notifier.Publish();
    }

    private sealed record ChecksumBox(StoreChecksum Value);
}

/// <summary>
/// What applying an entry needs: its first and last ids, event count, timestamp, and the checksum chain after it.
/// The writer computes it at enqueue time (it sees entries in log order too), so a pending entry need not keep its
/// bytes until the commit: in relaxed mode that kept every acknowledged ADD alive through garbage collections.
/// </summary>
internal readonly record struct EntrySummary(UInt128 FirstId, UInt128 LastId, int EventCount, long AddedAtMs, ulong HashAfter)
{
    public static EntrySummary Of(ReadOnlySpan<byte> entry, ulong hashBefore)
    {
        var view = new EntryView(entry);
        int count = view.EventCount;
        int offset = view.FirstEventOffset;
        UInt128 first = default;
        UInt128 last = default;
        ulong hash = hashBefore;
        for (int i = 0; i < count; i++)
        {
            var record = new EventRecord(entry, offset);
            last = record.Id;
            if (i == 0)
            {
                first = last;
            }

            hash = LogEntryFormat.Chain(record, hash);
            offset += record.Size;
        }

        return new EntrySummary(first, last, count, view.AddedAtMs, hash);
    }
}
