using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace EventflowDb.Storage;

/// <summary>
/// snapshot.bin: the committed state at <see cref="CoveredAddress"/> (counters, checksum chain, stream
/// table, sparse id index) plus the index checkpoint tokens it goes with. Little-endian, ending in an
/// XxHash64 of everything before it. Version 2 adds <see cref="IndexUpperAddress"/>; a version 1 snapshot
/// loads with it unknown (<see cref="long.MaxValue"/>). Version 3 adds the streams' lifecycle state
/// (<see cref="Lifecycles"/>); versions 1 and 2 load with none.
/// </summary>
internal sealed class StoreSnapshot
{
    private const ulong MagicV1 = 0x3150414E53464645; // "EFFSNAP1"
    private const ulong MagicV2 = 0x3250414E53464645; // "EFFSNAP2"
    private const ulong Magic = 0x3350414E53464645; // "EFFSNAP3"

    public long CoveredAddress { get; init; }

    public long EventCount { get; init; }

    public long EntryCount { get; init; }

    public UInt128 LastId { get; init; }

    public ulong Hash { get; init; }

    public uint Epoch { get; init; }

    public Guid IndexToken { get; init; }

    public Guid LogToken { get; init; }

    public long TakenAtMs { get; init; }

    /// <summary>
    /// The log's tail when the index checkpoint completed: every key the checkpoint holds points below it. Keys may
    /// point past <see cref="CoveredAddress"/> (entries indexed after the capture); a recovery that ends the log
    /// below this address cut entries the checkpoint may index, and must not trust it.
    /// </summary>
    public long IndexUpperAddress { get; init; } = long.MaxValue;

    public required string[] StreamNames { get; init; }

    public required long[] StreamCreated { get; init; }

    public required long[] StreamCounts { get; init; }

    public required long[] StreamUpdated { get; init; }

    public required (UInt128 Id, long Address)[] SparsePoints { get; init; }

    /// <summary>Each stream's lifecycle state (null entries: none), or null when the snapshot has none (versions 1 and 2).</summary>
    public StreamLifecycle?[]? Lifecycles { get; init; }

    /// <summary>Writes the snapshot; stream names and creation times come from <paramref name="streams"/> (they never change).</summary>
    public static void Write(string path, CheckpointCapture capture, StreamTable streams, SparseIdIndex sparse, Guid indexToken, Guid logToken, long indexUpperAddress)
    {
        AtomicFile.Write(path, file =>
        {
            using var hashing = new HashingStream(file);
            using (var w = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(capture.CoveredAddress);
                w.Write(capture.EventCount);
                w.Write(capture.EntryCount);
                WriteId(w, capture.LastId);
                w.Write(capture.Hash);
                w.Write(capture.Epoch);
                w.Write(indexToken.ToByteArray());
                w.Write(logToken.ToByteArray());
                w.Write(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                w.Write(indexUpperAddress);
                w.Write(capture.StreamCounts.LongLength);
                for (long i = 0; i < capture.StreamCounts.LongLength; i++)
                {
                    var stream = streams[i];
                    w.Write(stream.Name);
                    w.Write(stream.CreatedMs);
                    w.Write(capture.StreamCounts[i]);
                    w.Write(capture.StreamUpdated[i]);
                }

                w.Write(capture.SparseCount);
                for (long i = 0; i < capture.SparseCount; i++)
                {
                    var (id, address) = sparse[i];
                    WriteId(w, id);
                    w.Write(address);
                }

                long withLifecycle = capture.Lifecycles.LongCount(l => l is not null);
                w.Write(withLifecycle);
                for (long i = 0; i < capture.Lifecycles.LongLength; i++)
                {
                    if (capture.Lifecycles[i] is { } lifecycle)
                    {
                        w.Write(i);
                        w.Write(lifecycle.HiddenBelow);
                        w.Write(lifecycle.DeleteMark);
                        w.Write(lifecycle.MaxCount);
                        w.Write(lifecycle.MaxAgeMs);
                        w.Write(lifecycle.ForgottenBelow);
                        w.Write(lifecycle.SnapshotAddress);
                    }
                }
            }

            Span<byte> hash = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(hash, hashing.Hash);
            file.Write(hash);
        });
    }

    /// <summary>Loads a snapshot; throws <see cref="InvalidDataException"/> when it is damaged.</summary>
    public static StoreSnapshot Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) != XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)))
        {
            throw new InvalidDataException($"Snapshot {path} fails its checksum.");
        }

        using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 8), Encoding.UTF8);
        ulong magic = r.ReadUInt64();
        if (magic != Magic && magic != MagicV2 && magic != MagicV1)
        {
            throw new InvalidDataException($"Snapshot {path} has an unknown format.");
        }

        long covered = r.ReadInt64();
        long events = r.ReadInt64();
        long entries = r.ReadInt64();
        var lastId = ReadId(r);
        ulong hash = r.ReadUInt64();
        uint epoch = r.ReadUInt32();
        var indexToken = new Guid(r.ReadBytes(16));
        var logToken = new Guid(r.ReadBytes(16));
        long taken = r.ReadInt64();
        long indexUpper = magic != MagicV1 ? r.ReadInt64() : long.MaxValue;
        long streamCount = r.ReadInt64();
        var names = new string[streamCount];
        var created = new long[streamCount];
        var counts = new long[streamCount];
        var updated = new long[streamCount];
        for (long i = 0; i < streamCount; i++)
        {
            names[i] = r.ReadString();
            created[i] = r.ReadInt64();
            counts[i] = r.ReadInt64();
            updated[i] = r.ReadInt64();
        }

        long sparseCount = r.ReadInt64();
        var sparse = new (UInt128, long)[sparseCount];
        for (long i = 0; i < sparseCount; i++)
        {
            sparse[i] = (ReadId(r), r.ReadInt64());
        }

        var lifecycles = new StreamLifecycle?[streamCount];
        if (magic == Magic)
        {
            long withLifecycle = r.ReadInt64();
            for (long i = 0; i < withLifecycle; i++)
            {
                long number = r.ReadInt64();
                lifecycles[number] = new StreamLifecycle
                {
                    HiddenBelow = r.ReadInt64(),
                    DeleteMark = r.ReadBoolean(),
                    MaxCount = r.ReadInt64(),
                    MaxAgeMs = r.ReadInt64(),
                    ForgottenBelow = r.ReadInt64(),
                    SnapshotAddress = r.ReadInt64(),
                };
            }
        }

        return new StoreSnapshot
        {
            CoveredAddress = covered,
            EventCount = events,
            EntryCount = entries,
            LastId = lastId,
            Hash = hash,
            Epoch = epoch,
            IndexToken = indexToken,
            LogToken = logToken,
            TakenAtMs = taken,
            IndexUpperAddress = indexUpper,
            StreamNames = names,
            StreamCreated = created,
            StreamCounts = counts,
            StreamUpdated = updated,
            SparsePoints = sparse,
            Lifecycles = lifecycles,
        };
    }

    private static void WriteId(BinaryWriter w, UInt128 id)
    {
        Span<byte> bytes = stackalloc byte[16];
        UlidCodec.WriteBytes(id, bytes);
        w.Write(bytes);
    }

    private static UInt128 ReadId(BinaryReader r) => UlidCodec.ReadBytes(r.ReadBytes(16));

    /// <summary>Passes writes through while hashing them.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly XxHash64 _hash = new();

        public ulong Hash => _hash.GetCurrentHashAsUInt64();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.Append(buffer);
            inner.Write(buffer);
        }
    }
}

/// <summary>The committed state captured under the apply lock at the start of a checkpoint.</summary>
internal sealed class CheckpointCapture
{
    public required long CoveredAddress { get; init; }

    public required long EventCount { get; init; }

    public required long EntryCount { get; init; }

    public required UInt128 LastId { get; init; }

    public required ulong Hash { get; init; }

    public required uint Epoch { get; init; }

    public required long[] StreamCounts { get; init; }

    public required long[] StreamUpdated { get; init; }

    public required long SparseCount { get; init; }

    /// <summary>Each stream's lifecycle state at the capture (immutable objects, so the references are the capture).</summary>
    public required StreamLifecycle?[] Lifecycles { get; init; }

    /// <summary>Events hidden by DELETE, TRUNCATE and maxCount at the capture (for EVENTCOUNTEST; not written).</summary>
    public long HiddenEvents { get; init; }

    /// <summary>Streams that read as deleted at the capture (for STREAMCOUNTEST; not written).</summary>
    public long DeletedStreams { get; init; }
}
