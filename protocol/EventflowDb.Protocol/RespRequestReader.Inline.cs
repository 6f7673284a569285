namespace EventflowDb.Protocol;

/// <summary>
/// Parsing of inline commands: one text line split into arguments the way Redis' sdssplitargs splits it
/// (blanks separate arguments; "double quotes" take \" \\ \n \r \t \b \a \xHH escapes; 'single quotes' take \').
/// Unlike Redis, a NUL byte is an ordinary byte rather than the end of the line.
/// </summary>
public sealed partial class RespRequestReader
{
    private FrameStatus ParseInline(ReadOnlySpan<byte> frame, ReadOnlyMemory<byte> source, bool frameIsScratch, RespRequest request, out int frameLength, out long bytesNeeded, out string? error)
    {
        frameLength = 0;
        bytesNeeded = 0;
        error = null;

        // The line, "\r\n" included, may be at most _maxInlineLength + 2 bytes: never search further.
        int searchLength = (int)Math.Min(frame.Length, _maxInlineLength + 2L);
        int newline = frame[..searchLength].IndexOf((byte)'\n');
        if (newline < 0)
        {
            if (frame.Length >= _maxInlineLength + 2L)
            {
                error = LimitError(RespProtocolErrors.TooBigInlineRequest);
                return FrameStatus.Error;
            }

            bytesNeeded = frame.Length + 1L;
            return FrameStatus.Incomplete;
        }

        int lineLength = newline > 0 && frame[newline - 1] == (byte)'\r' ? newline - 1 : newline;
        if (lineLength > _maxInlineLength)
        {
            error = LimitError(RespProtocolErrors.TooBigInlineRequest);
            return FrameStatus.Error;
        }

        ReadOnlySpan<byte> line = frame[..lineLength];
        frameLength = newline + 1;
        if (line.IndexOfAny((byte)'"', (byte)'\'') < 0)
        {
            request.Begin(source, isInline: true);
            SplitUnquoted(line, request);
        }
        else
        {
            // Unescaping never lengthens the line, so it can be done in place when the line already is in scratch.
            byte[] destination = frameIsScratch ? request.Scratch : request.EnsureScratch(lineLength, preserve: 0);
            request.Begin(destination, isInline: true);
            if (!SplitQuoted(line, destination, request))
            {
                error = RespProtocolErrors.UnbalancedQuotes;
                return FrameStatus.Error;
            }
        }

        if (request.Count == 0)
        {
            return FrameStatus.Skipped;
        }

        if (request.Count > _maxArguments)
        {
            error = LimitError(RespProtocolErrors.TooManyInlineArguments);
            return FrameStatus.Error;
        }

        // An inline argument is bound by the bulk length too (it only matters when that is below the line limit).
        if (lineLength > _maxBulkLength && HasArgumentLongerThan(request, _maxBulkLength))
        {
            error = LimitError(RespProtocolErrors.TooBigInlineRequest);
            return FrameStatus.Error;
        }

        return FrameStatus.Complete;
    }

    private static bool HasArgumentLongerThan(RespRequest request, int length)
    {
        for (int i = 0; i < request.Count; i++)
        {
            if (request[i].Length > length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Splits a line without quotes: its arguments are slices of it.</summary>
    private static void SplitUnquoted(ReadOnlySpan<byte> line, RespRequest request)
    {
        int index = 0;
        while (true)
        {
            while (index < line.Length && IsBlank(line[index]))
            {
                index++;
            }

            if (index == line.Length)
            {
                return;
            }

            int start = index;
            while (index < line.Length && !EndsUnquotedArgument(line[index]))
            {
                index++;
            }

            request.AddArgument(start, index - start);
        }
    }

    /// <summary>
    /// Splits a line with quotes, writing the unescaped arguments to <paramref name="destination"/>
    /// (which may be the line's own memory: every write lands at or before the byte being read).
    /// False for unbalanced quotes, or a closing quote followed by anything but a blank.
    /// </summary>
    private static bool SplitQuoted(ReadOnlySpan<byte> line, Span<byte> destination, RespRequest request)
    {
        int read = 0;
        int write = 0;
        while (true)
        {
            while (read < line.Length && IsBlank(line[read]))
            {
                read++;
            }

            if (read == line.Length)
            {
                return true;
            }

            int start = write;
            bool inDoubleQuotes = false;
            bool inSingleQuotes = false;
            while (true)
            {
                if (read == line.Length)
                {
                    if (inDoubleQuotes || inSingleQuotes)
                    {
                        return false;
                    }

                    break;
                }

                byte current = line[read];
                if (inDoubleQuotes)
                {
                    if (current == (byte)'\\' && read + 3 < line.Length && line[read + 1] == (byte)'x'
                        && IsHexDigit(line[read + 2]) && IsHexDigit(line[read + 3]))
                    {
                        destination[write++] = (byte)((HexValue(line[read + 2]) << 4) | HexValue(line[read + 3]));
                        read += 4;
                    }
                    else if (current == (byte)'\\' && read + 1 < line.Length)
                    {
                        destination[write++] = Unescape(line[read + 1]);
                        read += 2;
                    }
                    else if (current == (byte)'"')
                    {
                        read++;
                        if (read < line.Length && !IsBlank(line[read]))
                        {
                            return false;
                        }

                        break;
                    }
                    else
                    {
                        destination[write++] = current;
                        read++;
                    }
                }
                else if (inSingleQuotes)
                {
                    if (current == (byte)'\\' && read + 1 < line.Length && line[read + 1] == (byte)'\'')
                    {
                        destination[write++] = (byte)'\'';
                        read += 2;
                    }
                    else if (current == (byte)'\'')
                    {
                        read++;
                        if (read < line.Length && !IsBlank(line[read]))
                        {
                            return false;
                        }

                        break;
                    }
                    else
                    {
                        destination[write++] = current;
                        read++;
                    }
                }
                else if (EndsUnquotedArgument(current))
                {
                    break;
                }
                else
                {
                    // A quote inside an unquoted argument opens a quoted part of the same argument, as in Redis.
                    inDoubleQuotes = current == (byte)'"';
                    inSingleQuotes = current == (byte)'\'';
                    if (!inDoubleQuotes && !inSingleQuotes)
                    {
                        destination[write++] = current;
                    }

                    read++;
                }
            }

            request.AddArgument(start, write - start);
        }
    }

    private static byte Unescape(byte escaped) => escaped switch
    {
        (byte)'n' => (byte)'\n',
        (byte)'r' => (byte)'\r',
        (byte)'t' => (byte)'\t',
        (byte)'b' => (byte)'\b',
        (byte)'a' => (byte)'\a',
        _ => escaped,
    };

    /// <summary>C isspace: what separates arguments.</summary>
    private static bool IsBlank(byte value) => value is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    /// <summary>What ends an unquoted argument in sdssplitargs (it does not stop at \v or \f).</summary>
    private static bool EndsUnquotedArgument(byte value) => value is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';

    private static bool IsHexDigit(byte value) => char.IsAsciiHexDigit((char)value);

    private static int HexValue(byte digit) => digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10;
}
