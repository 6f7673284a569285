using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventflowDb.Storage;

/// <summary>
/// What store.meta records: the last epoch; the log's segment size (unknown in files written before it was
/// recorded); and the lowest log address from which event index keys may be stale (<see cref="NoStaleKeys"/> when none).
/// </summary>
internal readonly record struct StoreMeta(uint Epoch, int? SegmentSizeBits, long StaleKeysFrom)
{
    /// <summary><see cref="StaleKeysFrom"/> of a store whose index never held keys of entries the log lost.</summary>
    public const long NoStaleKeys = long.MaxValue;
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

        return null;
    }

    public static void Write(string path, StoreMeta meta)
    {
        var bytes = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, MagicV3);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), meta.Epoch);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), meta.SegmentSizeBits ?? throw new ArgumentException("The segment size must be known.", nameof(meta)));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), meta.StaleKeysFrom);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), XxHash64.HashToUInt64(bytes.AsSpan(0, 24)));
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static bool IsSealed(byte[] bytes, uint magic)
        => BinaryPrimitives.ReadUInt32LittleEndian(bytes) == magic
        && BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) == XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8));
}
