using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventflowDb.Storage;

/// <summary>What store.meta records: the last epoch, and the log's segment size when it was written by a version that records it.</summary>
internal readonly record struct StoreMeta(uint Epoch, int? SegmentSizeBits);

/// <summary>
/// store.meta: the incarnation counter ("epoch") and the log's segment size. Each open durably takes a
/// new, higher epoch before writing, and every entry records the epoch that wrote it. Recovery requires
/// epochs never to decrease along the log, so bytes left from an older incarnation past a cut-off tail
/// can never pass for entries written after them. The segment size is fixed when a store is created:
/// addresses map to files through it.
/// </summary>
internal static class StoreMetaFile
{
    private const uint MagicV1 = 0x4154454D; // "META": epoch only
    private const uint MagicV2 = 0x3254454D; // "MET2": epoch and segment size bits

    public static StoreMeta? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 16 && IsSealed(bytes, MagicV1))
        {
            return new StoreMeta(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)), null);
        }

        if (bytes.Length == 24 && IsSealed(bytes, MagicV2))
        {
            return new StoreMeta(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)), BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        }

        return null;
    }

    public static void Write(string path, uint epoch, int segmentSizeBits)
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, MagicV2);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), epoch);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), segmentSizeBits);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), XxHash64.HashToUInt64(bytes.AsSpan(0, 16)));
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static bool IsSealed(byte[] bytes, uint magic)
        => BinaryPrimitives.ReadUInt32LittleEndian(bytes) == magic
        && BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) == XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8));
}
