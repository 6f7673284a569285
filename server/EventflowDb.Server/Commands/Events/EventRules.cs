using System.Text;
using System.Text.Unicode;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// The SPEC.md rules for names (streams, event types, message ids, consumer groups and consumers) and page sizes,
/// with their error replies. Every command checks its names here, so a rule has one definition; numeric and other
/// positional arguments are read by <see cref="Arguments"/>.
/// </summary>
internal static class EventRules
{
    public const int MaxStreamBytes = 256;
    public const int MaxTypeBytes = 128;
    public const int MaxMessageIdBytes = 128;
    public const int MaxGroupBytes = 256;
    public const int MaxConsumerBytes = 256;

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

    /// <summary>Turns a requested limit into the page size actually served: 0 means the default page, more than the maximum is clamped.</summary>
    public static int PageSize(long requested, Configuration.ServerOptions options) =>
        requested == 0 ? Math.Min(options.DefaultPage, options.MaxPage) : (int)Math.Min(requested, options.MaxPage);
}
