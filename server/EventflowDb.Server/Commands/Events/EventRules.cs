using System.Text;
using System.Text.Unicode;
using EventflowDb.Protocol;

namespace EventflowDb.Server.Commands.Events;

/// <summary>The SPEC.md rules for streams, types, message ids and numeric arguments, with their error replies.</summary>
internal static class EventRules
{
    public const int MaxStreamBytes = 256;
    public const int MaxTypeBytes = 256;
    public const int MaxMessageIdBytes = 128;

    /// <summary>Checks a stream name given as UTF-8 bytes.</summary>
    public static void ValidateStream(ReadOnlySpan<byte> stream)
    {
        if (stream.Length == 0)
        {
            throw CommandException.Invalid("stream cannot be empty");
        }

        if (stream.Length > MaxStreamBytes)
        {
            throw CommandException.Invalid($"stream is longer than {MaxStreamBytes} bytes");
        }

        if (!Utf8.IsValid(stream))
        {
            throw CommandException.Invalid("stream must be UTF-8");
        }

        Span<char> chars = stackalloc char[MaxStreamBytes];
        int count = Encoding.UTF8.GetChars(stream, chars);
        foreach (char c in chars[..count])
        {
            if (char.IsControl(c))
            {
                throw CommandException.Invalid("stream cannot contain control characters");
            }
        }

        if (Guid.TryParse(chars[..count], out var guid) && guid == Guid.Empty)
        {
            throw CommandException.Invalid("stream cannot be all zeroes");
        }
    }

    /// <summary>Checks a stream name given as text.</summary>
    public static void ValidateStream(string stream)
    {
        if (Encoding.UTF8.GetByteCount(stream) > MaxStreamBytes)
        {
            throw CommandException.Invalid($"stream is longer than {MaxStreamBytes} bytes");
        }

        ValidateStream(Encoding.UTF8.GetBytes(stream));
    }

    public static void ValidateType(string type)
    {
        if (type.Length == 0)
        {
            throw CommandException.Invalid("event type cannot be empty");
        }

        if (Encoding.UTF8.GetByteCount(type) > MaxTypeBytes)
        {
            throw CommandException.Invalid($"event type is longer than {MaxTypeBytes} bytes");
        }
    }

    public static void ValidateMessageId(string messageId)
    {
        if (messageId.Length == 0)
        {
            throw CommandException.Invalid("message_id cannot be empty");
        }

        if (Encoding.UTF8.GetByteCount(messageId) > MaxMessageIdBytes)
        {
            throw CommandException.Invalid($"message_id is longer than {MaxMessageIdBytes} bytes");
        }
    }

    /// <summary>Reads a non-negative integer argument (version, limit, skip).</summary>
    public static long NonNegative(RespRequest request, int index, string name)
    {
        if (!request.TryGetInt64(index, out long value))
        {
            throw CommandException.Syntax($"{name} is not an integer or out of range");
        }

        return NonNegative(value, name);
    }

    public static long NonNegative(long value, string name) =>
        value >= 0 ? value : throw CommandException.Invalid($"{name} cannot be negative");

    /// <summary>Turns a requested limit into the page size actually served: 0 means the default page, more than the maximum is clamped.</summary>
    public static int PageSize(long requested, Configuration.ServerOptions options) =>
        requested == 0 ? Math.Min(options.DefaultPage, options.MaxPage) : (int)Math.Min(requested, options.MaxPage);
}
