namespace EventflowDb.Protocol;

/// <summary>Strict base-10 integer parsing shared by requests and replies.</summary>
internal static class RespInteger
{
    /// <summary>Parses an optional '-' followed by one or more ASCII digits (leading zeros allowed), failing on overflow.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        bool negative = text.Length > 0 && text[0] == (byte)'-';
        ReadOnlySpan<byte> digits = negative ? text[1..] : text;
        if (digits.IsEmpty)
        {
            return false;
        }

        // Accumulate in ulong so long.MinValue, whose magnitude exceeds long.MaxValue, parses too.
        ulong limit = negative ? (ulong)long.MaxValue + 1 : long.MaxValue;
        ulong magnitude = 0;
        foreach (byte b in digits)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9 || magnitude > (limit - digit) / 10)
            {
                return false;
            }

            magnitude = (magnitude * 10) + digit;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }
}
