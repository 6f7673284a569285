using System.Globalization;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Commands.Events;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EventflowDb.Server.Http;

/// <summary>
/// Query parameters and the stream of a path, read with the same rules and error replies as the RESP arguments
/// (<see cref="Arguments"/>, <see cref="EventRules"/>).
/// </summary>
internal static class ApiArguments
{
    /// <summary>A non-negative integer query parameter (from, limit, skip); 0 when absent or empty.</summary>
    public static long NonNegative(HttpRequest request, string name)
    {
        string? text = Text(request, name);
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? Arguments.NonNegative(value, name)
            : throw CommandException.Syntax($"{name} is not an integer or out of range");
    }

    /// <summary>A query parameter given once (null when absent); given twice is ERR.</summary>
    public static string? Text(HttpRequest request, string name)
    {
        var values = request.Query[name];
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw CommandException.Syntax($"{name} is given more than once"),
        };
    }

    /// <summary>
    /// The stream named by the path segment after <paramref name="prefix"/>, percent-decoded from the raw request target
    /// into its UTF-8 bytes (so <c>%2F</c> is a '/' of the name and any byte can be named), then checked as RESP checks it.
    /// A <paramref name="suffix"/> (such as <c>/truncate</c>) is cut off the end first.
    /// </summary>
    public static byte[] StreamFromPath(HttpContext context, string prefix, string suffix = "")
    {
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        int query = target.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? target : target[..query];
        if (suffix.Length > 0 && path.EndsWith(suffix, StringComparison.Ordinal))
        {
            path = path[..^suffix.Length];
        }

        int start = path.IndexOf(prefix, StringComparison.Ordinal);
        string segment = start < 0 ? "" : path[(start + prefix.Length)..];
        var stream = PercentDecode(segment);
        EventRules.ValidateStream(stream);
        return stream;
    }

    /// <summary>Percent-decoding of a path segment into bytes; a '%' not followed by two hex digits is INVALID.</summary>
    public static byte[] PercentDecode(string segment)
    {
        var bytes = new List<byte>(segment.Length);
        for (int i = 0; i < segment.Length; i++)
        {
            char c = segment[i];
            if (c == '%')
            {
                if (i + 2 >= segment.Length || !byte.TryParse(segment.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    throw CommandException.Invalid("stream is not percent-encoded correctly in the path");
                }

                bytes.Add(b);
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        return [.. bytes];
    }

    /// <summary>A path for a link: the stream's name percent-encoded as one segment.</summary>
    public static string StreamPath(string prefix, ReadOnlySpan<byte> stream) => prefix + Uri.EscapeDataString(System.Text.Encoding.UTF8.GetString(stream));
}
