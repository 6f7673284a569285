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
    private ChecksumBox? _checksum;
    private UInt128 _lastId;
    private ulong _hash;

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

    /// <summary>Entries applied so far (spacing of the sparse id index).</summary>
    public long EntryCount { get; private set; }

    public UInt128 LastId => _lastId;

    public ulong Hash => _hash;

    public StoreChecksum Checksum => Volatile.Read(ref _checksum)?.Value ?? new StoreChecksum(NUlid.Ulid.Empty, 0);

    public void Restore(long appliedEnd, long eventCount, long streamCount, long entryCount, UInt128 lastId, ulong hash)
    {
        _appliedEnd = appliedEnd;
        _eventCount = eventCount;
        _streamCount = streamCount;
        EntryCount = entryCount;
        _lastId = lastId;
        _hash = hash;
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
        stream.SetCommitted(stream.Count + entry.EventCount, entry.AddedAtMs);
        Volatile.Write(ref _eventCount, _eventCount + entry.EventCount);
        Volatile.Write(ref _appliedEnd, end);
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

            hash = System.IO.Hashing.XxHash64.HashToUInt64(record.Json, (long)hash);
            offset += record.Size;
        }

        return new EntrySummary(first, last, count, view.AddedAtMs, hash);
    }
}
