using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;

namespace EventflowDb.Protocol;

/// <summary>The building blocks every reply is written with: headers, lines, chunked copies.</summary>
public sealed partial class RespWriter
{
    /// <summary>Writes "{type}{value}\r\n", e.g. an integer or an aggregate header.</summary>
    private void WriteHeader(byte type, long value)
    {
        Span<byte> span = _output.GetSpan(MaxHeaderBytes);
        _output.Advance(FormatHeader(span, type, value));
    }

    private static int FormatHeader(Span<byte> span, byte type, long value)
    {
        span[0] = type;
        Utf8Formatter.TryFormat(value, span[1..], out int digits);
        WriteCrLf(span[(1 + digits)..]);
        return digits + 3;
    }

    private static void WriteCrLf(Span<byte> span)
    {
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
    }

    /// <summary>Writes "{type}{text}\r\n" with any CR or LF in the text turned into spaces.</summary>
    private void WriteLine(byte type, ReadOnlySpan<byte> text)
    {
        if (text.Length <= ChunkBytes)
        {
            Span<byte> span = _output.GetSpan(text.Length + 3);
            span[0] = type;
            Span<byte> body = span.Slice(1, text.Length);
            text.CopyTo(body);
            ReplaceNewlines(body);
            WriteCrLf(span[(1 + text.Length)..]);
            _output.Advance(text.Length + 3);
            return;
        }

        WriteByte(type);
        WriteChunked(text, replaceNewlines: true);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Writes "{type}{UTF-8 of text}\r\n" with any CR or LF in the text turned into spaces.</summary>
    private void WriteLine(byte type, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (maxBytes <= ChunkBytes)
        {
            Span<byte> span = _output.GetSpan(maxBytes + 3);
            span[0] = type;
            int length = Encoding.UTF8.GetBytes(text, span[1..]);
            ReplaceNewlines(span.Slice(1, length));
            WriteCrLf(span[(1 + length)..]);
            _output.Advance(length + 3);
            return;
        }

        WriteByte(type);
        WriteUtf8Chunked(text, replaceNewlines: true);
        WriteRaw("\r\n"u8);
    }

    private void WriteByte(byte value)
    {
        _output.GetSpan(1)[0] = value;
        _output.Advance(1);
    }

    /// <summary>Copies <paramref name="data"/> through spans of at most <see cref="ChunkBytes"/>.</summary>
    private void WriteChunked(ReadOnlySpan<byte> data, bool replaceNewlines)
    {
        while (!data.IsEmpty)
        {
            Span<byte> span = _output.GetSpan(Math.Min(data.Length, ChunkBytes));
            int length = Math.Min(span.Length, data.Length);
            data[..length].CopyTo(span);
            if (replaceNewlines)
            {
                ReplaceNewlines(span[..length]);
            }

            _output.Advance(length);
            data = data[length..];
        }
    }

    /// <summary>Encodes <paramref name="text"/> as UTF-8 through spans of about <see cref="ChunkBytes"/> (lone surrogates become U+FFFD, as Encoding.UTF8 writes them).</summary>
    private void WriteUtf8Chunked(ReadOnlySpan<char> text, bool replaceNewlines)
    {
        while (!text.IsEmpty)
        {
            // Room for at least one whole character, which is at most 4 bytes.
            Span<byte> span = _output.GetSpan(ChunkBytes);
            Utf8.FromUtf16(text, span, out int charsRead, out int bytesWritten, replaceInvalidSequences: true, isFinalBlock: true);
            if (replaceNewlines)
            {
                ReplaceNewlines(span[..bytesWritten]);
            }

            _output.Advance(bytesWritten);
            text = text[charsRead..];
        }
    }

    // CR and LF never occur inside a multi-byte UTF-8 sequence, so replacing bytes is safe for any text.
    private static void ReplaceNewlines(Span<byte> text)
    {
        if (text.ContainsAny((byte)'\r', (byte)'\n'))
        {
            text.Replace((byte)'\r', (byte)' ');
            text.Replace((byte)'\n', (byte)' ');
        }
    }
}
