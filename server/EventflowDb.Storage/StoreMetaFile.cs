using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventflowDb.Storage;

/// <summary>
/// What store.meta records: the last epoch; the log's segment size (unknown in files written before it was
/// recorded); the lowest log address from which event index keys may be stale (<see cref="NoStaleKeys"/> when none);
/// and the format features the store's files use (<see cref="StoreFeatures"/>).
/// </summary>
internal readonly record struct StoreMeta(uint Epoch, int? SegmentSizeBits, long StaleKeysFrom, StoreFeatures Features = StoreFeatures.None)
{
    /// <summary><see cref="StaleKeysFrom"/> of a store whose index never held keys of entries the log lost.</summary>
    public const long NoStaleKeys = long.MaxValue;
}

/// <summary>
/// Format features a data directory uses that builds before them cannot read safely. store.meta records them in its
/// version 4 ("MET4"), which those builds do not know and refuse (they call store.meta damaged and do not start);
/// a store with none keeps version 3, which every build since the stale-key floor reads.
/// </summary>
[Flags]
internal enum StoreFeatures : ulong
{
    /// <summary>Nothing beyond version 3.</summary>
    None = 0,

    /// <summary>
    /// The log holds (or may hold) control records (<see cref="ControlRecordFormat"/>): a build before them would take a
    /// trailing one for a torn tail and cut it, or call one followed by entries damage.
    /// </summary>
    ControlRecords = 1,

    /// <summary>
    /// The log holds (or may hold) scrubbed events (<see cref="LogEntryFormat.Scrub"/>, written by a compaction after FORGET):
    /// a build before them would take their records for damage.
    /// </summary>
    ScrubbedEvents = 2,

    /// <summary>Every feature this build knows; a store.meta naming any other is from a newer build.</summary>
    Known = ControlRecords | ScrubbedEvents,
}

/// <summary>
/// store.meta: the incarnation counter ("epoch"), the log's segment size and the stale-key floor. Each open
/// durably takes a new, higher epoch before writing, and every entry records the epoch that wrote it. Recovery
/// requires epochs never to decrease along the log, so bytes left from an older incarnation past a cut-off tail
/// can never pass for entries written after them. The segment size is fixed when a store is created: addresses
/// map to files through it. The stale-key floor only ever goes down: an index checkpoint may hold keys of entries
/// that a crash lost, and a key at or above the floor is trusted only after the entry it points at is checked.
/// </summary>
internal static class StoreMetaFile
{
    private const uint MagicV1 = 0x4154454D; // "META": epoch only
    private const uint MagicV2 = 0x3254454D; // "MET2": epoch and segment size bits
    private const uint MagicV3 = 0x3354454D; // "MET3": epoch, segment size bits, stale-key floor
    private const uint MagicV4 = 0x3454454D; // "MET4": as MET3, then the features (u64) before the checksum

    public static StoreMeta? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 16 && IsSealed(bytes, MagicV1))
        {
            return new StoreMeta(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)), null, StoreMeta.NoStaleKeys);
        }

        if (bytes.Length == 24 && IsSealed(bytes, MagicV2))
        {
            return new StoreMeta(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)), BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)), StoreMeta.NoStaleKeys);
        }

        if (bytes.Length == 32 && IsSealed(bytes, MagicV3))
        {
            return new StoreMeta(
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)),
                BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)),
                BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)));
        }

        if (bytes.Length == 40 && IsSealed(bytes, MagicV4))
        {
            return new StoreMeta(
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)),
                BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)),
                BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)),
                (StoreFeatures)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24)));
        }

        return null;
    }

    /// <summary>
    /// Adds <paramref name="features"/> to the store.meta at <paramref name="path"/> (rewritten atomically) unless it names
    /// them already; nothing when the file is missing or unreadable (the next open decides then).
    /// </summary>
    public static void AddFeatures(string path, StoreFeatures features)
    {
        if (TryRead(path) is { SegmentSizeBits: not null } meta && (meta.Features & features) != features)
        {
            Write(path, meta with { Features = meta.Features | features });
        }
    }

    /// <summary>Writes version 3 when the store uses no feature, else version 4 with the features.</summary>
    public static void Write(string path, StoreMeta meta)
    {
        bool v4 = meta.Features != StoreFeatures.None;
        var bytes = new byte[v4 ? 40 : 32];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, v4 ? MagicV4 : MagicV3);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), meta.Epoch);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), meta.SegmentSizeBits ?? throw new ArgumentException("The segment size must be known.", nameof(meta)));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), meta.StaleKeysFrom);
        if (v4)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), (ulong)meta.Features);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static bool IsSealed(byte[] bytes, uint magic)
        => BinaryPrimitives.ReadUInt32LittleEndian(bytes) == magic
        && BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) == XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8));
}
