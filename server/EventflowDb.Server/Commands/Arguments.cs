using EventflowDb.Protocol;
using NUlid;

namespace EventflowDb.Server.Commands;

/// <summary>
/// The positional arguments commands share (numbers, event ids, BLOCK, trailing options, argument counts) and their
/// error replies, so that every command reads them alike. The JSON form applies the same rules through
/// <see cref="Events.JsonArgument"/>.
/// </summary>
internal static class Arguments
{
    /// <summary>Longest BLOCK: the longest wait a .NET timer takes as an int, about 24.8 days.</summary>
    public const long MaxBlockMs = int.MaxValue;

    /// <summary>Reads an integer argument; <paramref name="name"/> starts the error reply (Redis says "value").</summary>
    public static long Integer(RespRequest request, int index, string name) =>
        request.TryGetInt64(index, out long value) ? value : throw CommandException.Syntax($"{name} is not an integer or out of range");

    /// <summary>Reads a non-negative integer argument (version, limit, skip).</summary>
    public static long NonNegative(RespRequest request, int index, string name) => NonNegative(Integer(request, index, name), name);

    public static long NonNegative(long value, string name) =>
        value >= 0 ? value : throw CommandException.Invalid($"{name} cannot be negative");

    /// <summary>Reads an integer argument above zero (count, ack timeout, max deliveries).</summary>
    public static long Positive(RespRequest request, int index, string name)
    {
        long value = NonNegative(request, index, name);
        return value > 0 ? value : throw CommandException.Invalid($"{name} must be positive");
    }

    /// <summary>Reads a BLOCK argument: milliseconds from 0 (no time limit) to <see cref="MaxBlockMs"/>.</summary>
    public static long BlockMs(RespRequest request, int index) => BlockMs(NonNegative(request, index, "block"));

    public static long BlockMs(long value) =>
        NonNegative(value, "block") <= MaxBlockMs ? value : throw CommandException.Invalid($"block is over {MaxBlockMs} ms");

    /// <summary>An event id; empty, "0", "-" or the zero ULID mean "from the start".</summary>
    public static Ulid Offset(ReadOnlySpan<byte> text)
    {
        if (text.Length == 0 || text.SequenceEqual("0"u8) || text.SequenceEqual("-"u8))
        {
            return Ulid.Empty;
        }

        Span<char> chars = stackalloc char[26];
        if (text.Length != 26)
        {
            throw CommandException.Invalid("offset is not an event id (ULID)");
        }

        for (int i = 0; i < 26; i++)
        {
            chars[i] = (char)text[i];
        }

        return Ulid.TryParse(chars, out var id) ? id : throw CommandException.Invalid("offset is not an event id (ULID)");
    }

    /// <summary>The id of one event: an <see cref="Offset"/> that names an event, not "from the start".</summary>
    public static Ulid EventId(RespRequest request, int index)
    {
        var id = Offset(request[index]);
        return id != Ulid.Empty ? id : throw CommandException.Invalid("not an event id (ULID)");
    }

    public static void AtLeast(RespRequest request, int count, string usage)
    {
        if (request.Count < count)
        {
            throw CommandException.Syntax($"wrong number of arguments: {usage}");
        }
    }

    public static void Exactly(RespRequest request, int count, string usage)
    {
        if (request.Count != count)
        {
            throw CommandException.Syntax($"wrong number of arguments: {usage}");
        }
    }

    /// <summary>Reads trailing <c>BLOCK &lt;ms&gt;</c> / <c>CHANNEL &lt;name&gt;</c> options (GET, GETALL), and at most
    /// <paramref name="maxPositional"/> positional arguments before them, from index <paramref name="first"/>.</summary>
    public static (List<int> Positional, long? Block, string? Channel) LongPollOptions(RespRequest request, int first, int maxPositional, bool allowChannel, string usage)
    {
        var positional = new List<int>();
        long? block = null;
        string? channel = null;
        for (int i = first; i < request.Count; i++)
        {
            if (request.EqualsIgnoreCase(i, "BLOCK"u8) && i + 1 < request.Count && block is null)
            {
                block = BlockMs(request, ++i);
            }
            else if (allowChannel && request.EqualsIgnoreCase(i, "CHANNEL"u8) && i + 1 < request.Count && channel is null && block is null)
            {
                channel = request.GetString(++i);
            }
            else if (block is null && channel is null && positional.Count < maxPositional)
            {
                positional.Add(i);
            }
            else
            {
                throw CommandException.Syntax($"syntax error: {usage}");
            }
        }

        return (positional, block, channel);
    }

    /// <summary>Reads trailing <c>COUNT n</c> (and, when allowed, <c>BLOCK ms</c>) options from index <paramref name="first"/>; null where absent.</summary>
    public static (long? Count, long? Block) CountOptions(RespRequest request, int first, string usage, bool allowBlock)
    {
        long? count = null;
        long? block = null;
        for (int i = first; i < request.Count; i++)
        {
            if (request.EqualsIgnoreCase(i, "COUNT"u8) && i + 1 < request.Count && count is null)
            {
                count = Positive(request, ++i, "count");
            }
            else if (allowBlock && request.EqualsIgnoreCase(i, "BLOCK"u8) && i + 1 < request.Count && block is null)
            {
                block = BlockMs(request, ++i);
            }
            else
            {
                throw CommandException.Syntax($"syntax error: {usage}");
            }
        }

        return (count, block);
    }
}
