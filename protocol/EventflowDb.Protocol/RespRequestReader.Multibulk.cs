namespace EventflowDb.Protocol;

/// <summary>Parsing of RESP arrays of bulk strings: <c>*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n</c>.</summary>
public sealed partial class RespRequestReader
{
    // The shortest argument, "$0\r\n\r\n": lets a header promise a lower bound on the request's size.
    private const int MinimumArgumentBytes = 6;

    private enum NumberStatus
    {
        Valid,
        Incomplete,
        Invalid,

        /// <summary>A well-formed start of a number already over its limit.</summary>
        TooLarge,
    }

    private FrameStatus ParseMultibulk(ReadOnlySpan<byte> frame, ReadOnlyMemory<byte> source, RespRequest request, out int frameLength, out long bytesNeeded, out string? error)
    {
        frameLength = 0;
        bytesNeeded = 0;
        error = null;

        NumberStatus header = ParseLengthLine(frame, 1, _maxArguments, out long count, out int position);
        if (header == NumberStatus.Incomplete)
        {
            bytesNeeded = frame.Length + 1L;
            return FrameStatus.Incomplete;
        }

        if (header is NumberStatus.Invalid or NumberStatus.TooLarge)
        {
            error = header == NumberStatus.TooLarge ? LimitError(RespProtocolErrors.InvalidMultibulkLength) : RespProtocolErrors.InvalidMultibulkLength;
            return FrameStatus.Error;
        }

        if (count <= 0)
        {
            frameLength = position;
            return FrameStatus.Skipped;
        }

        if (position + (MinimumArgumentBytes * count) > _maxRequestBytes)
        {
            error = LimitError(RespProtocolErrors.RequestTooLarge);
            return FrameStatus.Error;
        }

        request.Begin(source, isInline: false);
        for (long remaining = count; remaining > 0; remaining--)
        {
            long minimumRest = MinimumArgumentBytes * (remaining - 1);
            if (position >= frame.Length)
            {
                bytesNeeded = position + minimumRest + MinimumArgumentBytes;
                return FrameStatus.Incomplete;
            }

            byte marker = frame[position];
            if (marker != (byte)'$')
            {
                error = RespProtocolErrors.ExpectedBulkMarker(marker);
                return FrameStatus.Error;
            }

            NumberStatus bulk = ParseLengthLine(frame, position + 1, _maxBulkLength, out long length, out int dataStart);
            if (bulk == NumberStatus.Incomplete)
            {
                bytesNeeded = Math.Max(frame.Length + 1L, position + minimumRest + MinimumArgumentBytes);
                return FrameStatus.Incomplete;
            }

            if (bulk == NumberStatus.TooLarge)
            {
                error = LimitError(RespProtocolErrors.InvalidBulkLength);
                return FrameStatus.Error;
            }

            if (bulk == NumberStatus.Invalid || length < 0)
            {
                error = RespProtocolErrors.InvalidBulkLength;
                return FrameStatus.Error;
            }

            // Sizes are checked against the limits from the header alone, before waiting for (or storing) the data.
            long dataEnd = dataStart + length;
            long requestMinimum = dataEnd + 2 + minimumRest;
            if (requestMinimum > _maxRequestBytes)
            {
                error = LimitError(RespProtocolErrors.RequestTooLarge);
                return FrameStatus.Error;
            }

            if (dataEnd + 2 > frame.Length)
            {
                bytesNeeded = requestMinimum;
                return FrameStatus.Incomplete;
            }

            if (frame[(int)dataEnd] != (byte)'\r' || frame[(int)dataEnd + 1] != (byte)'\n')
            {
                error = RespProtocolErrors.MissingBulkTerminator;
                return FrameStatus.Error;
            }

            request.AddArgument(dataStart, (int)length);
            position = (int)dataEnd + 2;
        }

        frameLength = position;
        return FrameStatus.Complete;
    }

    /// <summary>
    /// Parses "digits\r\n" or "-digits\r\n" at <paramref name="start"/> as Redis does (no '+', no leading zeros,
    /// no spaces). Fails as soon as the value exceeds <paramref name="max"/> (TooLarge; below -1 is Invalid),
    /// so a huge length is rejected without waiting for its end.
    /// </summary>
    private static NumberStatus ParseLengthLine(ReadOnlySpan<byte> frame, int start, long max, out long value, out int end)
    {
        value = 0;
        end = 0;
        int index = start;
        if (index >= frame.Length)
        {
            return NumberStatus.Incomplete;
        }

        bool negative = frame[index] == (byte)'-';
        if (negative)
        {
            index++;
            max = 1;
        }

        int firstDigit = index;
        long magnitude = 0;
        while (true)
        {
            if (index >= frame.Length)
            {
                return NumberStatus.Incomplete;
            }

            uint digit = (uint)(frame[index] - '0');
            if (digit > 9)
            {
                break;
            }

            if (index > firstDigit && magnitude == 0)
            {
                return NumberStatus.Invalid;
            }

            magnitude = (magnitude * 10) + digit;
            if (magnitude > max)
            {
                return negative ? NumberStatus.Invalid : NumberStatus.TooLarge;
            }

            index++;
        }

        if (index == firstDigit || (negative && magnitude == 0) || frame[index] != (byte)'\r')
        {
            return NumberStatus.Invalid;
        }

        if (index + 1 >= frame.Length)
        {
            return NumberStatus.Incomplete;
        }

        if (frame[index + 1] != (byte)'\n')
        {
            return NumberStatus.Invalid;
        }

        value = negative ? -magnitude : magnitude;
        end = index + 2;
        return NumberStatus.Valid;
    }
}
