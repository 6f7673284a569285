using System.Buffers.Binary;
using System.Security.Cryptography;
using NUlid;

namespace EventflowDb.Storage;

/// <summary>ULIDs as 128-bit numbers: byte order and string order agree, so comparing the numbers orders ids.</summary>
internal static class UlidCodec
{
    public const int StringLength = 26;

    private static ReadOnlySpan<byte> Alphabet => "0123456789ABCDEFGHJKMNPQRSTVWXYZ"u8;

    public static UInt128 ReadBytes(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt128BigEndian(source);

    public static void WriteBytes(UInt128 id, Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, id);

    public static UInt128 FromUlid(Ulid ulid) => ReadBytes(ulid.ToByteArray());

    public static Ulid ToUlid(UInt128 id)
    {
        var bytes = new byte[16];
        WriteBytes(id, bytes);
        return new Ulid(bytes);
    }

    /// <summary>Writes the 26-character Crockford base32 form.</summary>
    public static void WriteString(UInt128 id, Span<byte> destination)
    {
        for (int i = 0; i < StringLength; i++)
        {
            int shift = 125 - (5 * i);
            destination[i] = Alphabet[(int)((id >> shift) & 31)];
        }
    }

    public static long TimestampMs(UInt128 id) => (long)(ulong)(id >> 80);
}

/// <summary>
/// Monotonic ULIDs (single writer): a later millisecond gets fresh randomness, the same (or an earlier,
/// if the clock steps back) millisecond increments the previous id, so ids strictly increase in log order.
/// </summary>
internal sealed class UlidGenerator
{
    private UInt128 _last;

    public UlidGenerator(UInt128 last) => _last = last;

    public UInt128 Last => _last;

    public UInt128 Next(long unixMs)
    {
        if (unixMs > UlidCodec.TimestampMs(_last))
        {
            Span<byte> random = stackalloc byte[16];
            RandomNumberGenerator.Fill(random[6..]);
            // Clear the top bit of the random part so many increments within the millisecond cannot carry into the time.
            random[6] &= 0x7F;
            _last = BinaryPrimitives.ReadUInt128BigEndian(random) | ((UInt128)(ulong)unixMs << 80);
        }
        else
        {
            _last++;
        }

        return _last;
    }

    /// <summary>An id chosen elsewhere: <paramref name="id"/> when it is above the last one, else the next after the last.</summary>
    public UInt128 Take(UInt128 id)
    {
        _last = id > _last ? id : _last + 1;
        return _last;
    }
}
