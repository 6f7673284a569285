using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace EventflowDb.Protocol;

/// <summary>
/// Writes RESP2 or RESP3 replies straight into an output buffer (a PipeWriter in the server).
/// Types RESP2 lacks are written as their RESP2 equivalent when <see cref="Resp3"/> is false
/// (map → flat array, set/push → array, null → $-1, boolean → integer, double → bulk string, verbatim → bulk string).
/// </summary>
/// <remarks>
/// Nothing is allocated: every value is formatted or encoded straight into spans from the output.
/// Values larger than <see cref="ChunkBytes"/> are written in pieces, so a big bulk string never needs
/// one big contiguous span. Doubles are written in their shortest round-trip form ("1.5", "1E+20"),
/// and as "inf", "-inf" and "nan". Not thread-safe.
/// </remarks>
public sealed partial class RespWriter
{
    // Values up to this size are written through one span; larger ones in pieces of about this size.
    private const int ChunkBytes = 8192;

    // Type byte, sign and 19 digits of a long, CRLF.
    private const int MaxHeaderBytes = 1 + 20 + 2;

    private readonly IBufferWriter<byte> _output;

    /// <summary>Creates a writer over <paramref name="output"/>.</summary>
    public RespWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>True after HELLO 3.</summary>
    public bool Resp3 { get; set; }

    /// <summary>+OK</summary>
    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    /// <summary>Simple string; must not contain CR or LF (any that do are written as spaces, to keep the stream intact).</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> value) => WriteLine((byte)'+', value);

    /// <summary>Simple string; must not contain CR or LF (any that do are written as spaces, to keep the stream intact).</summary>
    public void WriteSimpleString(string value) => WriteLine((byte)'+', value);

    /// <summary>Error reply; <paramref name="message"/> starts with the code word ("ERR ...", "WRONGVERSION ..."). CR/LF are replaced by spaces.</summary>
    public void WriteError(string message) => WriteLine((byte)'-', message);

    /// <summary>Error reply from UTF-8 bytes, code word first. CR/LF are replaced by spaces.</summary>
    public void WriteError(ReadOnlySpan<byte> message) => WriteLine((byte)'-', message);

    /// <summary>Integer.</summary>
    public void WriteInteger(long value) => WriteHeader((byte)':', value);

    /// <summary>Bulk string.</summary>
    public void WriteBulkString(ReadOnlySpan<byte> value)
    {
        if (value.Length <= ChunkBytes)
        {
            Span<byte> span = _output.GetSpan(MaxHeaderBytes + value.Length + 2);
            int written = FormatHeader(span, (byte)'$', value.Length);
            value.CopyTo(span[written..]);
            written += value.Length;
            WriteCrLf(span[written..]);
            _output.Advance(written + 2);
            return;
        }

        WriteHeader((byte)'$', value.Length);
        WriteChunked(value, replaceNewlines: false);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Bulk string, UTF-8 encoded.</summary>
    public void WriteBulkString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int byteCount = Encoding.UTF8.GetByteCount(value);
        if (byteCount <= ChunkBytes)
        {
            Span<byte> span = _output.GetSpan(MaxHeaderBytes + byteCount + 2);
            int written = FormatHeader(span, (byte)'$', byteCount);
            written += Encoding.UTF8.GetBytes(value, span[written..]);
            WriteCrLf(span[written..]);
            _output.Advance(written + 2);
            return;
        }

        WriteHeader((byte)'$', byteCount);
        WriteUtf8Chunked(value, replaceNewlines: false);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Integer written as a bulk string of its decimal digits.</summary>
    public void WriteBulkString(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int length);
        WriteBulkString(digits[..length]);
    }

    /// <summary>Null: $-1 (RESP2) or _ (RESP3).</summary>
    public void WriteNull() => WriteRaw(Resp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>Null array: *-1 (RESP2) or _ (RESP3).</summary>
    public void WriteNullArray() => WriteRaw(Resp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    /// <summary>Array header of <paramref name="count"/> elements.</summary>
    public void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteHeader((byte)'*', count);
    }

    /// <summary>Map header of <paramref name="pairs"/> key-value pairs (RESP2: array of 2×pairs).</summary>
    public void WriteMapHeader(int pairs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pairs);
        if (Resp3)
        {
            WriteHeader((byte)'%', pairs);
        }
        else
        {
            WriteHeader((byte)'*', pairs * 2L);
        }
    }

    /// <summary>Set header (RESP2: array).</summary>
    public void WriteSetHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteHeader(Resp3 ? (byte)'~' : (byte)'*', count);
    }

    /// <summary>Push header (RESP2: array), for pub/sub messages.</summary>
    public void WritePushHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteHeader(Resp3 ? (byte)'>' : (byte)'*', count);
    }

    /// <summary>Double (RESP2: bulk string), as "inf", "-inf", "nan" or the shortest text that round-trips.</summary>
    public void WriteDouble(double value)
    {
        Span<byte> text = stackalloc byte[32];
        int length = FormatDouble(value, text);
        if (Resp3)
        {
            WriteLine((byte)',', text[..length]);
        }
        else
        {
            WriteBulkString(text[..length]);
        }
    }

    /// <summary>Boolean (RESP2: integer 1/0).</summary>
    public void WriteBoolean(bool value)
    {
        if (Resp3)
        {
            WriteRaw(value ? "#t\r\n"u8 : "#f\r\n"u8);
        }
        else
        {
            WriteRaw(value ? ":1\r\n"u8 : ":0\r\n"u8);
        }
    }

    /// <summary>Verbatim string with a 3-letter format such as "txt" (RESP2: bulk string).</summary>
    /// <exception cref="ArgumentException"><paramref name="format"/> is not three ASCII characters.</exception>
    public void WriteVerbatimString(string format, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (format.Length != 3 || !Ascii.IsValid(format) || format.AsSpan().ContainsAny('\r', '\n'))
        {
            throw new ArgumentException("A verbatim string format is three ASCII characters, such as \"txt\".", nameof(format));
        }

        if (!Resp3)
        {
            WriteBulkString(value);
            return;
        }

        WriteHeader((byte)'=', value.Length + 4L);
        Span<byte> prefix = _output.GetSpan(4);
        Encoding.ASCII.GetBytes(format, prefix);
        prefix[3] = (byte)':';
        _output.Advance(4);
        WriteChunked(value, replaceNewlines: false);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Big number from its decimal digits (RESP2: bulk string).</summary>
    /// <exception cref="ArgumentException"><paramref name="digits"/> is not an optional '-' followed by ASCII digits.</exception>
    public void WriteBigNumber(ReadOnlySpan<byte> digits)
    {
        ReadOnlySpan<byte> magnitude = digits.Length > 0 && digits[0] == (byte)'-' ? digits[1..] : digits;
        if (magnitude.IsEmpty || magnitude.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            throw new ArgumentException("A big number is an optional '-' followed by decimal digits.", nameof(digits));
        }

        if (Resp3)
        {
            WriteLine((byte)'(', digits);
        }
        else
        {
            WriteBulkString(digits);
        }
    }

    /// <summary>Bytes already in RESP form.</summary>
    public void WriteRaw(ReadOnlySpan<byte> resp)
    {
        if (resp.Length <= ChunkBytes)
        {
            resp.CopyTo(_output.GetSpan(resp.Length));
            _output.Advance(resp.Length);
            return;
        }

        WriteChunked(resp, replaceNewlines: false);
    }

    private static int FormatDouble(double value, Span<byte> destination)
    {
        ReadOnlySpan<byte> special = double.IsNaN(value) ? "nan"u8
            : double.IsPositiveInfinity(value) ? "inf"u8
            : double.IsNegativeInfinity(value) ? "-inf"u8
            : default;
        if (!special.IsEmpty)
        {
            special.CopyTo(destination);
            return special.Length;
        }

        // "R" is the shortest text that parses back to the same double; it fits in 32 bytes ("-1.7976931348623157E+308").
        value.TryFormat(destination, out int written, "R", CultureInfo.InvariantCulture);
        return written;
    }
}
