using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace EventflowDb.Storage;

/// <summary>Renders event and stream-summary JSON exactly once, so reads are byte copies.</summary>
internal static class EventJsonWriter
{
    /// <summary>Length of an RFC 3339 UTC timestamp with milliseconds: 2026-11-23T20:51:57.123Z.</summary>
    public const int TimestampLength = 24;

    public static void WriteEvent(
        ByteBuffer output,
        UInt128 id,
        long position,
        string stream,
        long version,
        NewEvent evt,
        UInt128 causationId,
        UInt128 correlationId,
        long addedAtMs)
    {
        output.Write("{\"id\":"u8);
        WriteUlid(output, id);
        output.Write(",\"position\":"u8);
        WriteInt(output, position);
        output.Write(",\"stream\":"u8);
        WriteString(output, stream);
        output.Write(",\"version\":"u8);
        WriteInt(output, version);
        output.Write(",\"type\":"u8);
        WriteString(output, evt.Type);
        output.Write(",\"data\":"u8);
        output.Write(evt.Data.Span);
        if (!evt.Metadata.IsEmpty)
        {
            output.Write(",\"metadata\":"u8);
            output.Write(evt.Metadata.Span);
        }

        output.Write(",\"causation_id\":"u8);
        WriteUlid(output, causationId);
        output.Write(",\"correlation_id\":"u8);
        WriteUlid(output, correlationId);
        if (evt.MessageId is not null)
        {
            output.Write(",\"message_id\":"u8);
            WriteString(output, evt.MessageId);
        }

        output.Write(",\"added_at\":"u8);
        WriteTimestamp(output, addedAtMs);
        output.Write((byte)'}');
    }

    public static void WriteStreamSummary(ByteBuffer output, string stream, long count, long createdMs, long updatedMs)
    {
        output.Write("{\"stream\":"u8);
        WriteString(output, stream);
        output.Write(",\"version\":"u8);
        WriteInt(output, count - 1);
        output.Write(",\"events\":"u8);
        WriteInt(output, count);
        output.Write(",\"added_at\":"u8);
        WriteTimestamp(output, createdMs);
        output.Write(",\"updated_at\":"u8);
        WriteTimestamp(output, updatedMs);
        output.Write((byte)'}');
    }

    public static void WriteUlid(ByteBuffer output, UInt128 id)
    {
        var span = output.GetSpan(UlidCodec.StringLength + 2);
        span[0] = (byte)'"';
        UlidCodec.WriteString(id, span[1..]);
        span[UlidCodec.StringLength + 1] = (byte)'"';
        output.Advance(UlidCodec.StringLength + 2);
    }

    public static void WriteInt(ByteBuffer output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }

    /// <summary>Writes a quoted timestamp such as "2026-11-23T20:51:57.123Z".</summary>
    public static void WriteTimestamp(ByteBuffer output, long unixMs)
    {
        var span = output.GetSpan(TimestampLength + 2);
        span[0] = (byte)'"';
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime
            .TryFormat(span[1..], out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        span[written + 1] = (byte)'"';
        output.Advance(written + 2);
    }

    /// <summary>Writes a JSON string literal: UTF-8, with quotes, backslashes and control characters escaped.</summary>
    public static void WriteString(ByteBuffer output, string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int length = Encoding.UTF8.GetBytes(value, utf8);
        WriteString(output, utf8[..length]);
    }

    public static void WriteString(ByteBuffer output, ReadOnlySpan<byte> utf8)
    {
        // Worst case every byte becomes \u00XX.
        var span = output.GetSpan((utf8.Length * 6) + 2);
        int w = 0;
        span[w++] = (byte)'"';
        foreach (byte b in utf8)
        {
            switch (b)
            {
                case (byte)'"':
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'"';
                    break;
                case (byte)'\\':
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'\\';
                    break;
                case (byte)'\n':
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'n';
                    break;
                case (byte)'\r':
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'r';
                    break;
                case (byte)'\t':
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'t';
                    break;
                case < 0x20:
                    span[w++] = (byte)'\\';
                    span[w++] = (byte)'u';
                    span[w++] = (byte)'0';
                    span[w++] = (byte)'0';
                    span[w++] = HexDigit(b >> 4);
                    span[w++] = HexDigit(b & 0xF);
                    break;
                default:
                    span[w++] = b;
                    break;
            }
        }

        span[w++] = (byte)'"';
        output.Advance(w);
    }

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'a' + value - 10);
}
