using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace EventflowDb.Protocol;

/// <summary>Reads whole RESP2/RESP3 values (allocating); false when the buffer ends first.</summary>
internal static class RespValueParser
{
    // Deeper nesting than this is treated as malformed rather than risking the stack.
    private const int MaxDepth = 256;

    // The shortest value, "_\r\n": an aggregate cannot be complete before 3 bytes per element have arrived.
    private const int MinimumValueBytes = 3;

    public static bool TryParse(ref SequenceReader<byte> reader, int depth, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (depth > MaxDepth)
        {
            throw new FormatException("RESP value nested too deeply.");
        }

        if (!reader.TryRead(out byte type))
        {
            return false;
        }

        switch (type)
        {
            case (byte)'+':
                return TryReadLineValue(ref reader, RespType.SimpleString, out value);
            case (byte)'-':
                return TryReadLineValue(ref reader, RespType.Error, out value);
            case (byte)':':
                return TryReadInteger(ref reader, out value);
            case (byte)'$':
                return TryReadBulk(ref reader, RespType.BulkString, out value);
            case (byte)'!':
                return TryReadBulk(ref reader, RespType.BulkError, out value);
            case (byte)'=':
                return TryReadVerbatim(ref reader, out value);
            case (byte)',':
                return TryReadDouble(ref reader, out value);
            case (byte)'(':
                return TryReadBigNumber(ref reader, out value);
            case (byte)'#':
                return TryReadBoolean(ref reader, out value);
            case (byte)'_':
                return TryReadNull(ref reader, out value);
            case (byte)'*':
                return TryReadAggregate(ref reader, RespType.Array, depth, out value);
            case (byte)'~':
                return TryReadAggregate(ref reader, RespType.Set, depth, out value);
            case (byte)'>':
                return TryReadAggregate(ref reader, RespType.Push, depth, out value);
            case (byte)'%':
                return TryReadAggregate(ref reader, RespType.Map, depth, out value);
            case (byte)'|':
                return TryReadAttributed(ref reader, depth, out value);
            default:
                throw new FormatException($"Unknown RESP type byte 0x{type:x2}.");
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line) =>
        reader.TryReadTo(out line, "\r\n"u8, advancePastDelimiter: true);

    private static bool TryReadLineValue(ref SequenceReader<byte> reader, RespType type, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        value = new RespValue { Type = type, Bytes = line.ToArray() };
        return true;
    }

    private static bool TryReadInteger(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        value = new RespValue { Type = RespType.Integer, Integer = ParseInteger(line) };
        return true;
    }

    private static bool TryReadDouble(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        byte[] text = line.ToArray();
        if (text is not [(byte)'i' or (byte)'-' or (byte)'n' or (byte)'+' or (byte)'.' or (>= (byte)'0' and <= (byte)'9'), ..])
        {
            throw new FormatException("Malformed RESP double.");
        }

        value = new RespValue { Type = RespType.Double, Bytes = text };
        return true;
    }

    private static bool TryReadBigNumber(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        byte[] digits = line.ToArray();
        ReadOnlySpan<byte> magnitude = digits is [(byte)'-' or (byte)'+', ..] ? digits.AsSpan(1) : digits;
        if (magnitude.IsEmpty || magnitude.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            throw new FormatException("Malformed RESP big number.");
        }

        value = new RespValue { Type = RespType.BigNumber, Bytes = digits };
        return true;
    }

    private static bool TryReadBoolean(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        long truth = LineIs(line, "t"u8) ? 1
            : LineIs(line, "f"u8) ? 0
            : throw new FormatException("Malformed RESP boolean.");
        value = new RespValue { Type = RespType.Boolean, Integer = truth };
        return true;
    }

    private static bool TryReadNull(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        if (!line.IsEmpty)
        {
            throw new FormatException("Malformed RESP null.");
        }

        value = new RespValue { Type = RespType.Null };
        return true;
    }

    private static bool TryReadBulk(ref SequenceReader<byte> reader, RespType type, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLength(ref reader, allowNull: type == RespType.BulkString, out long length))
        {
            return false;
        }

        if (length < 0)
        {
            value = new RespValue { Type = RespType.Null };
            return true;
        }

        if (!TryReadBulkData(ref reader, length, out byte[]? data))
        {
            return false;
        }

        value = new RespValue { Type = type, Bytes = data };
        return true;
    }

    private static bool TryReadVerbatim(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLength(ref reader, allowNull: false, out long length) || !TryReadBulkData(ref reader, length, out byte[]? data))
        {
            return false;
        }

        if (data is not [_, _, _, (byte)':', ..])
        {
            throw new FormatException("A RESP verbatim string starts with a three-letter format and ':'.");
        }

        value = new RespValue
        {
            Type = RespType.VerbatimString,
            Format = System.Text.Encoding.ASCII.GetString(data, 0, 3),
            Bytes = data[4..],
        };
        return true;
    }

    private static bool TryReadBulkData(ref SequenceReader<byte> reader, long length, [NotNullWhen(true)] out byte[]? data)
    {
        data = null;
        if (reader.Remaining < length + 2)
        {
            return false;
        }

        data = new byte[length];
        reader.TryCopyTo(data);
        reader.Advance(length);
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw new FormatException("RESP bulk data is not followed by CRLF.");
        }

        return true;
    }

    private static bool TryReadAggregate(ref SequenceReader<byte> reader, RespType type, int depth, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLength(ref reader, allowNull: type == RespType.Array, out long count))
        {
            return false;
        }

        if (count < 0)
        {
            value = new RespValue { Type = RespType.Null };
            return true;
        }

        if (!TryReadItems(ref reader, type == RespType.Map ? count * 2 : count, depth, out List<RespValue>? items))
        {
            return false;
        }

        value = new RespValue { Type = type, Items = items };
        return true;
    }

    private static bool TryReadAttributed(ref SequenceReader<byte> reader, int depth, [NotNullWhen(true)] out RespValue? value)
    {
        value = null;
        if (!TryReadLength(ref reader, allowNull: false, out long pairs)
            || !TryReadItems(ref reader, pairs * 2, depth, out List<RespValue>? attributes)
            || !TryParse(ref reader, depth + 1, out RespValue? annotated))
        {
            return false;
        }

        value = new RespValue
        {
            Type = annotated.Type,
            Bytes = annotated.Bytes,
            Integer = annotated.Integer,
            Items = annotated.Items,
            Format = annotated.Format,
            Attributes = attributes,
        };
        return true;
    }

    private static bool TryReadItems(ref SequenceReader<byte> reader, long count, int depth, [NotNullWhen(true)] out List<RespValue>? items)
    {
        items = null;

        // Sizing the list from an untrusted count is only safe once that many elements could have arrived.
        if (count * MinimumValueBytes > reader.Remaining)
        {
            return false;
        }

        items = new List<RespValue>((int)count);
        for (long i = 0; i < count; i++)
        {
            if (!TryParse(ref reader, depth + 1, out RespValue? item))
            {
                return false;
            }

            items.Add(item);
        }

        return true;
    }

    /// <summary>Reads a length line; -1 (null) only when <paramref name="allowNull"/>.</summary>
    private static bool TryReadLength(ref SequenceReader<byte> reader, bool allowNull, out long length)
    {
        length = 0;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        if (LineIs(line, "?"u8))
        {
            throw new FormatException("Streamed RESP3 strings and aggregates are not supported.");
        }

        length = ParseInteger(line);
        if (length < -1 || (length == -1 && !allowNull) || length > int.MaxValue)
        {
            throw new FormatException($"Invalid RESP length {length}.");
        }

        return true;
    }

    private static bool LineIs(in ReadOnlySequence<byte> line, ReadOnlySpan<byte> expected)
    {
        if (line.Length != expected.Length)
        {
            return false;
        }

        // Lines compared this way are a byte or two, but may still straddle two segments.
        Span<byte> text = stackalloc byte[expected.Length];
        line.CopyTo(text);
        return text.SequenceEqual(expected);
    }

    private static long ParseInteger(in ReadOnlySequence<byte> line)
    {
        Span<byte> text = stackalloc byte[24];
        if (line.Length > text.Length)
        {
            throw new FormatException("RESP integer too long.");
        }

        line.CopyTo(text);
        return RespInteger.TryParse(text[..(int)line.Length], out long value)
            ? value
            : throw new FormatException("Malformed RESP integer.");
    }
}
