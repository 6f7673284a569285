using System.Globalization;
using System.Text.RegularExpressions;

namespace EventflowDb.Client;

/// <summary>Turns server error replies into typed exceptions.</summary>
internal static partial class ServerErrors
{
    /// <summary>The exception for the error reply <paramref name="reply"/> (code word, space, message).</summary>
    public static EventflowDbException FromReply(string reply, string? stream, Exception? inner = null)
    {
        reply = Normalize(reply);
        string code = CodeOf(reply);
        return code switch
        {
            EventflowDbErrorCodes.WrongVersion => WrongVersion(reply, stream, inner),
            EventflowDbErrorCodes.NoAuth or EventflowDbErrorCodes.WrongPassword => new AuthenticationException(reply, code, inner),
            EventflowDbErrorCodes.Invalid => new InvalidEventException(reply, inner),
            EventflowDbErrorCodes.NoPermission => new PermissionDeniedException(reply, inner),
            _ => new EventflowDbException(reply, code.Length > 0 ? code : EventflowDbErrorCodes.Error, inner),
        };
    }

    /// <summary>
    /// The error reply without the <c>SimpleError: </c> or <c>BulkError: </c> prefix that StackExchange.Redis 3 puts before
    /// some server errors (for example those it saw during its connection handshake).
    /// </summary>
    public static string Normalize(string reply)
    {
        foreach (string prefix in (ReadOnlySpan<string>)["SimpleError: ", "BulkError: "])
        {
            if (reply.StartsWith(prefix, StringComparison.Ordinal))
            {
                return reply[prefix.Length..];
            }
        }

        return reply;
    }

    /// <summary>The leading upper-case code word of an error reply (after <see cref="Normalize"/>), or an empty string.</summary>
    public static string CodeOf(string reply)
    {
        reply = Normalize(reply);
        int end = 0;
        while (end < reply.Length && (char.IsAsciiLetterUpper(reply[end]) || reply[end] == '_'))
        {
            end++;
        }

        return end > 0 && (end == reply.Length || reply[end] == ' ') ? reply[..end] : "";
    }

    /// <summary>Parses <c>WRONGVERSION ... (expected N, stream is at M)</c>; expected may be a word such as <c>no_stream</c>.</summary>
    public static WrongExpectedVersionException WrongVersion(string reply, string? stream, Exception? inner = null)
    {
        var match = VersionsPattern().Match(reply);
        ExpectedVersion? expected = null;
        long? actual = null;
        if (match.Success)
        {
            if (ExpectedVersion.TryParse(match.Groups["expected"].ValueSpan, out var parsed))
            {
                expected = parsed;
            }

            if (long.TryParse(match.Groups["actual"].ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long at))
            {
                actual = at;
            }
        }

        return new WrongExpectedVersionException(reply, stream, expected, actual, inner);
    }

    [GeneratedRegex(@"\(expected (?<expected>[^,()]+), stream is at (?<actual>-?[0-9]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionsPattern();
}
