using System.IO.Hashing;

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
    {
        var view = new EntryView(entry);
        int count = view.EventCount;
        if (stream.Count == 0)
        {
            Volatile.Write(ref _streamCount, _streamCount + 1);
        }

        int offset = view.FirstEventOffset;
        UInt128 firstId = default;
        for (int i = 0; i < count; i++)
        {
            var record = new EventRecord(entry, offset);
            _lastId = record.Id;
            if (i == 0)
            {
                firstId = _lastId;
            }

            _hash = XxHash64.HashToUInt64(record.Json, (long)_hash);
            offset += record.Size;
        }

        if (EntryCount % SparseIdIndex.Spacing == 0)
        {
            Sparse.Add(firstId, address);
        }

        EntryCount++;
        stream.SetCommitted(stream.Count + count, view.AddedAtMs);
        Volatile.Write(ref _eventCount, _eventCount + count);
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
