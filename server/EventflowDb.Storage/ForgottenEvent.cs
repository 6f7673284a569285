using System.Text.Json;

namespace EventflowDb.Storage;

/// <summary>
/// Renders a forgotten event (FORGET): the stored JSON with <c>"data":null,"metadata":null</c> in place of its data and
/// metadata and <c>"forgotten":true</c> at the end; every other field (id, position, stream, version, type, ids,
/// message id, time) as stored. The stored JSON is the server's own rendering (<see cref="EventJsonWriter"/>), or the
/// skeleton a compaction left of it (no data or metadata member: <see cref="LogEntryFormat.Scrub"/>), which renders the same.
/// </summary>
internal static class ForgottenEvent
{
    /// <summary>Room the rendering may need beyond the stored JSON's length.</summary>
    public const int ExtraBytes = 64;

    /// <summary>Adds the forgotten rendering of <paramref name="json"/> to <paramref name="page"/>.</summary>
    public static void AddTo(EventPage page, ReadOnlySpan<byte> json)
    {
        var target = page.Reserve(json.Length + ExtraBytes);
        page.Commit(Render(json, target));
    }

    /// <summary>Writes the rendering into <paramref name="target"/> (at least the JSON's length plus <see cref="ExtraBytes"/>); returns its length.</summary>
    public static int Render(ReadOnlySpan<byte> json, Span<byte> target)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read(); // {
        int length = 0;
        Append(target, ref length, "{"u8);
        bool first = true;
        bool afterType = false; // the member before was "type": data follows it, unless the JSON is a scrubbed skeleton
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int nameStart = (int)reader.TokenStartIndex;
            bool isData = reader.ValueTextEquals("data"u8);
            bool isMetadata = reader.ValueTextEquals("metadata"u8);
            bool isType = reader.ValueTextEquals("type"u8);
            bool isForgotten = reader.ValueTextEquals("forgotten"u8);
            if (afterType && !isData)
            {
                // A skeleton (LogEntryFormat.Scrub) has no data member: the rendering has it where it stood.
                Append(target, ref length, ",\"data\":null,\"metadata\":null"u8);
            }

            afterType = isType;
            reader.Read();
            int valueStart = (int)reader.TokenStartIndex;
            reader.Skip();
            int valueEnd = (int)reader.BytesConsumed;
            if (isMetadata || isForgotten)
            {
                continue; // "forgotten" of a JSON rendered already: it comes again at the end
            }

            if (!first)
            {
                Append(target, ref length, ","u8);
            }

            first = false;
            if (isData)
            {
                Append(target, ref length, "\"data\":null,\"metadata\":null"u8);
            }
            else
            {
                // The name as stored, its colon, and the value as stored.
                Append(target, ref length, json[nameStart..valueStart]);
                Append(target, ref length, json[valueStart..valueEnd]);
            }
        }

        if (afterType)
        {
            Append(target, ref length, ",\"data\":null,\"metadata\":null"u8);
        }

        Append(target, ref length, ",\"forgotten\":true}"u8);
        return length;
    }

    /// <summary>The forgotten rendering of <paramref name="json"/> as a new array.</summary>
    public static byte[] Render(ReadOnlySpan<byte> json)
    {
        var target = new byte[json.Length + ExtraBytes];
        return target.AsSpan(0, Render(json, target)).ToArray();
    }

    /// <summary>The top-level <c>"version"</c> of a stored event's JSON.</summary>
    public static long VersionOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isVersion = reader.ValueTextEquals("version"u8);
            reader.Read();
            if (isVersion)
            {
                return reader.GetInt64();
            }

            reader.Skip();
        }

        throw new InvalidDataException("event JSON has no version");
    }

    private static void Append(Span<byte> target, ref int length, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(target[length..]);
        length += bytes.Length;
    }
}
