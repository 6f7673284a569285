using System.Buffers.Text;
using System.Text;

namespace EventflowDb.Storage;

/// <summary>Renders event and stream-summary JSON exactly once, so reads are byte copies.</summary>
internal static class EventJsonWriter
{
    /// <summary>Length of an RFC 3339 UTC timestamp with milliseconds: 2026-11-23T20:51:57.123Z.</summary>
    public const int TimestampLength = 24;

    /// <summary>
    /// Writes one event with the parts every event of an ADD shares already rendered: the stream name as a JSON
    /// string (<paramref name="quotedStream"/>) and the quoted timestamp (<paramref name="quotedAddedAt"/>), so a
    /// batch escapes the name and formats the time once.
    /// </summary>
    public static void WriteEvent(
        ByteBuffer output,
        UInt128 id,
        long position,
        ReadOnlySpan<byte> quotedStream,
        long version,
        NewEvent evt,
        UInt128 causationId,
        UInt128 correlationId,
        ReadOnlySpan<byte> quotedAddedAt)
    {
        // The causation and correlation ids default to the event's own id: render it once, copy it for them.
        Span<byte> quotedId = stackalloc byte[UlidCodec.StringLength + 2];
        quotedId[0] = (byte)'"';
        UlidCodec.WriteString(id, quotedId[1..]);
        quotedId[^1] = (byte)'"';
        output.Write("{\"id\":"u8);
        output.Write(quotedId);
        output.Write(",\"position\":"u8);
        WriteInt(output, position);
        output.Write(",\"stream\":"u8);
        output.Write(quotedStream);
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
        WriteUlidOrCopy(output, causationId, id, quotedId);
        output.Write(",\"correlation_id\":"u8);
        WriteUlidOrCopy(output, correlationId, id, quotedId);
        if (evt.MessageId is not null)
        {
            output.Write(",\"message_id\":"u8);
            WriteString(output, evt.MessageId);
        }

        output.Write(",\"added_at\":"u8);
        output.Write(quotedAddedAt);
        output.Write((byte)'}');
    }

    /// <summary>A LISTSTREAMS row: version = the last version written (count - 1), events = the events a GET can still return (deleted, truncated and maxCount-hidden ones left out).</summary>
    public static void WriteStreamSummary(ByteBuffer output, string stream, long count, long events, long createdMs, long updatedMs)
    {
        output.Write("{\"stream\":"u8);
        WriteString(output, stream);
        output.Write(",\"version\":"u8);
        WriteInt(output, count - 1);
        output.Write(",\"events\":"u8);
        WriteInt(output, events);
        output.Write(",\"added_at\":"u8);
        WriteTimestamp(output, createdMs);
        output.Write(",\"updated_at\":"u8);
        WriteTimestamp(output, updatedMs);
        output.Write((byte)'}');
    }

    private static void WriteUlidOrCopy(ByteBuffer output, UInt128 value, UInt128 id, ReadOnlySpan<byte> quotedId)
    {
        if (value == id)
        {
            output.Write(quotedId);
        }
        else
        {
            WriteUlid(output, value);
        }
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
        FormatTimestamp(unixMs, span.Slice(1, TimestampLength));
        span[TimestampLength + 1] = (byte)'"';
        output.Advance(TimestampLength + 2);
    }

    /// <summary>
    /// ISO 8601 in UTC with milliseconds, digit by digit: every event carries one, and DateTime's
    /// custom-format path was a visible share of an ADD's CPU time.
    /// </summary>
    public static void FormatTimestamp(long unixMs, Span<byte> target)
    {
        var time = DateTime.UnixEpoch.AddMilliseconds(unixMs);
        var (date, clock) = time;
        Digits(target[..4], date.Year);
        target[4] = (byte)'-';
        Digits(target.Slice(5, 2), date.Month);
        target[7] = (byte)'-';
        Digits(target.Slice(8, 2), date.Day);
        target[10] = (byte)'T';
        Digits(target.Slice(11, 2), clock.Hour);
        target[13] = (byte)':';
        Digits(target.Slice(14, 2), clock.Minute);
        target[16] = (byte)':';
        Digits(target.Slice(17, 2), clock.Second);
        target[19] = (byte)'.';
        Digits(target.Slice(20, 3), clock.Millisecond);
        target[23] = (byte)'Z';
    }

    private static void Digits(Span<byte> target, int value)
    {
        for (int i = target.Length - 1; i >= 0; i--)
        {
            target[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
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
