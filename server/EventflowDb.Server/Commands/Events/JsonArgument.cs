using System.Text.Json;

namespace EventflowDb.Server.Commands.Events;

/// <summary>Helpers to read the JSON form of a command (one argument that starts with '{').</summary>
internal static class JsonArgument
{
    public static bool IsJsonForm(EventflowDb.Protocol.RespRequest request) =>
        request.Count == 2 && request[1].Length > 0 && request[1][0] == (byte)'{';

    /// <summary>
    /// Creates a reader positioned on the object's first token; throws ERR on anything but an object, and INVALID when the
    /// request is not UTF-8. The reader checks the JSON grammar but not the bytes inside strings, and payloads (ADD's
    /// data and metadata) are stored as sent, so this check is what keeps every stored event and reply valid UTF-8.
    /// </summary>
    public static Utf8JsonReader Open(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw CommandException.Invalid("the JSON request is not valid UTF-8");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw CommandException.Syntax("invalid JSON: expected an object");
        }

        return reader;
    }

    /// <summary>Moves to the next property name (compare it with ValueTextEquals, then <see cref="Read"/> to its value); false at the end of the object.</summary>
    public static bool NextProperty(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        return reader.TokenType != JsonTokenType.EndObject;
    }

    public static void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw CommandException.Syntax("invalid JSON: unexpected end");
        }
    }

    public static long ReadInt64(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value)
            ? value
            : throw CommandException.Syntax($"invalid JSON: '{name}' must be an integer");

    /// <summary>Reads the current property's value as a non-negative integer (version, limit, skip, block).</summary>
    public static long ReadNonNegative(ref Utf8JsonReader reader, string name)
    {
        Read(ref reader);
        return Arguments.NonNegative(ReadInt64(ref reader, name), name);
    }

    public static string ReadString(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw CommandException.Syntax($"invalid JSON: '{name}' must be a string");
        }

        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escape that is no character, such as a lone surrogate ("\ud800"): the name could not be stored as UTF-8.
            throw CommandException.Invalid($"'{name}' is not valid Unicode");
        }
    }

    /// <summary>Reads the current property's value as a BLOCK time in milliseconds (see <see cref="Arguments.BlockMs(long)"/>).</summary>
    public static long ReadBlockMs(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        return Arguments.BlockMs(ReadInt64(ref reader, "block"));
    }

    /// <summary>Skips the current value (object, array or scalar) and returns its raw byte range in <paramref name="json"/>.</summary>
    public static Range SkipValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        int start = (int)reader.TokenStartIndex;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
        }

        int end = (int)reader.BytesConsumed;
        return end <= json.Length ? start..end : throw CommandException.Syntax("invalid JSON");
    }

    public static CommandException UnknownField(ref Utf8JsonReader reader, string where) =>
        CommandException.Syntax($"invalid JSON: unknown field '{ErrorText.Excerpt(reader.ValueSpan)}' in {where}");
}
