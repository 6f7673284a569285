using System.Text;
using System.Text.Unicode;
using EventflowDb.Protocol;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// The SPEC.md rules for names (streams, event types, message ids, consumer groups and consumers) and numeric
/// arguments, with their error replies. Every command checks its names here, so a rule has one definition.
/// </summary>
internal static class EventRules
{
    public const int MaxStreamBytes = 256;
    public const int MaxTypeBytes = 128;
    public const int MaxMessageIdBytes = 128;
    public const int MaxGroupBytes = 256;
    public const int MaxConsumerBytes = 256;

    /// <summary>Longest BLOCK: the longest wait a .NET timer takes as an int, about 24.8 days.</summary>
    public const long MaxBlockMs = int.MaxValue;

    /// <summary>Checks a stream name given as UTF-8 bytes.</summary>
    public static void ValidateStream(ReadOnlySpan<byte> stream)
    {
        ValidateName(stream, "stream", MaxStreamBytes);
        Span<char> chars = stackalloc char[MaxStreamBytes];
        int count = Encoding.UTF8.GetChars(stream, chars);
        if (Guid.TryParse(chars[..count], out var guid) && guid == Guid.Empty)
        {
            throw CommandException.Invalid("stream cannot be all zeroes");
        }
    }

    /// <summary>Checks a stream name given as text.</summary>
    public static void ValidateStream(string stream)
    {
        ValidateName(stream, "stream", MaxStreamBytes);
        ValidateStream(Encoding.UTF8.GetBytes(stream));
    }

    public static void ValidateType(string type) => ValidateName(type, "event type", MaxTypeBytes);

    public static void ValidateMessageId(string messageId) => ValidateName(messageId, "message_id", MaxMessageIdBytes);

    /// <summary>
    /// A name is non-empty, at most <paramref name="maxBytes"/> bytes, well-formed UTF-8 and printable (no control
    /// characters), so that it can be stored, logged and sent back in JSON and error replies as it is.
    /// </summary>
    public static void ValidateName(ReadOnlySpan<byte> name, string what, int maxBytes)
    {
        if (name.Length == 0)
        {
            throw CommandException.Invalid($"{what} cannot be empty");
        }

        if (name.Length > maxBytes)
        {
            throw CommandException.Invalid($"{what} is longer than {maxBytes} bytes");
        }

        if (!Utf8.IsValid(name))
        {
            throw CommandException.Invalid($"{what} must be UTF-8");
        }

        while (!name.IsEmpty)
        {
            Rune.DecodeFromUtf8(name, out var rune, out int used);
            if (Rune.IsControl(rune))
            {
                throw CommandException.Invalid($"{what} cannot contain control characters");
            }

            name = name[used..];
        }
    }

    /// <summary>The same for a name given as text (the JSON form, where the reader has already decoded it).</summary>
    public static void ValidateName(string name, string what, int maxBytes)
    {
        // Counted before encoding so that a huge name is refused without a copy.
        if (name.Length > maxBytes || Encoding.UTF8.GetByteCount(name) > maxBytes)
        {
            throw CommandException.Invalid($"{what} is longer than {maxBytes} bytes");
        }

        ValidateName(Encoding.UTF8.GetBytes(name), what, maxBytes);
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

    /// <summary>Reads a BLOCK argument: milliseconds from 0 (no time limit) to <see cref="MaxBlockMs"/>.</summary>
    public static long BlockMs(RespRequest request, int index) => BlockMs(NonNegative(request, index, "block"));

    public static long BlockMs(long value) =>
        NonNegative(value, "block") <= MaxBlockMs ? value : throw CommandException.Invalid($"block is over {MaxBlockMs} ms");

    /// <summary>Turns a requested limit into the page size actually served: 0 means the default page, more than the maximum is clamped.</summary>
    public static int PageSize(long requested, Configuration.ServerOptions options) =>
        requested == 0 ? Math.Min(options.DefaultPage, options.MaxPage) : (int)Math.Min(requested, options.MaxPage);
}
