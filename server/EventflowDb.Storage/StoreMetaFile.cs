using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventflowDb.Storage;

/// <summary>
/// store.meta: the incarnation counter ("epoch"). Each open durably takes a new, higher epoch before
/// writing, and every entry records the epoch that wrote it. Recovery requires epochs never to decrease
/// along the log, so bytes left from an older incarnation past a cut-off tail can never pass for
/// entries written after them.
/// </summary>
internal static class StoreMetaFile
{
    private const uint Magic = 0x4154454D; // "META"

    public static uint? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 16
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)) != XxHash64.HashToUInt64(bytes.AsSpan(0, 8)))
        {
            return null;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
    }

    public static void Write(string path, uint epoch)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), epoch);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), XxHash64.HashToUInt64(bytes.AsSpan(0, 8)));
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
