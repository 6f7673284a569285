using System.Buffers;
using System.Text;
using System.Text.Json;
using NUlid;

namespace EventflowDb.Client;

/// <summary>The JSON requests the client sends and the JSON replies it reads.</summary>
internal static class WireFormat
{
    private static readonly ReadOnlyMemory<byte> NullJson = "null"u8.ToArray();

    /// <summary>ADD in its JSON form: <c>{"stream","version","events":[{"type","data","metadata","message_id","causation_id","correlation_id"}]}</c>.</summary>
    public static byte[] AddRequest(string stream, ExpectedVersion expected, IReadOnlyList<EventData> events)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("stream"u8, stream);
            expected.WriteTo(writer, "version");
            writer.WriteStartArray("events"u8);
            foreach (var e in events)
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, e.Type);
                writer.WritePropertyName("data"u8);
                writer.WriteRawValue(e.Data.Span, skipInputValidation: true);
                if (e.Metadata is { } metadata)
                {
                    writer.WritePropertyName("metadata"u8);
                    writer.WriteRawValue(metadata.Span, skipInputValidation: true);
                }

                if (e.MessageId is { } messageId)
                {
                    writer.WriteString("message_id"u8, messageId);
                }

                if (e.CausationId is { } causation)
                {
                    writer.WriteString("causation_id"u8, causation.ToString());
                }

                if (e.CorrelationId is { } correlation)
                {
                    writer.WriteString("correlation_id"u8, correlation.ToString());
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>GET in its JSON form: <c>{"stream","version","limit"}</c>.</summary>
    public static byte[] GetRequest(string stream, long fromVersion, int limit) => Object(writer =>
    {
        writer.WriteString("stream"u8, stream);
        writer.WriteNumber("version"u8, fromVersion);
        writer.WriteNumber("limit"u8, limit);
    });

    /// <summary>GETALL in its JSON form: <c>{"offset","limit"}</c>.</summary>
    public static byte[] GetAllRequest(Ulid after, int limit) => Object(writer =>
    {
        writer.WriteString("offset"u8, after.ToString());
        writer.WriteNumber("limit"u8, limit);
    });

    /// <summary>Long-poll GETALL in its JSON form: <c>{"offset","limit","channel","block"}</c> (no channel: <c>$all</c>).</summary>
    public static byte[] GetAllRequest(Ulid after, int limit, string? channel, int blockMilliseconds) => Object(writer =>
    {
        writer.WriteString("offset"u8, after.ToString());
        writer.WriteNumber("limit"u8, limit);
        if (channel is not null)
        {
            writer.WriteString("channel"u8, channel);
        }

        writer.WriteNumber("block"u8, blockMilliseconds);
    });

    /// <summary>LISTSTREAMS in its JSON form: <c>{"skip","limit"}</c>.</summary>
    public static byte[] ListStreamsRequest(long skip, int limit) => Object(writer =>
    {
        writer.WriteNumber("skip"u8, skip);
        writer.WriteNumber("limit"u8, limit);
    });

    /// <summary>
    /// Reads one event: <c>{"id","position","stream","version","type","data","metadata","causation_id","correlation_id","message_id","added_at"}</c>.
    /// <c>Data</c> and <c>Metadata</c> are slices of <paramref name="json"/> (no copy); unknown fields are ignored.
    /// </summary>
    public static RecordedEvent ReadEvent(byte[] json)
    {
        Ulid? id = null;
        long? position = null;
        string? stream = null;
        long? version = null;
        string? type = null;
        ReadOnlyMemory<byte>? data = null;
        ReadOnlyMemory<byte>? metadata = null;
        Ulid? causation = null;
        Ulid? correlation = null;
        string? messageId = null;
        DateTimeOffset? addedAt = null;
        bool forgotten = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, json);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("data"u8))
                {
                    data = RawValue(ref reader, json);
                    continue;
                }

                if (reader.ValueTextEquals("metadata"u8))
                {
                    var raw = RawValue(ref reader, json);
                    metadata = reader.TokenType == JsonTokenType.Null ? null : raw;
                    continue;
                }

                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "id":
                        id = ReadUlid(ref reader);
                        break;
                    case "position":
                        position = reader.GetInt64();
                        break;
                    case "stream":
                        stream = reader.GetString();
                        break;
                    case "version":
                        version = reader.GetInt64();
                        break;
                    case "type":
                        type = reader.GetString();
                        break;
                    case "causation_id":
                        causation = reader.TokenType == JsonTokenType.Null ? null : ReadUlid(ref reader);
                        break;
                    case "correlation_id":
                        correlation = reader.TokenType == JsonTokenType.Null ? null : ReadUlid(ref reader);
                        break;
                    case "message_id":
                        messageId = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                        break;
                    case "added_at":
                        addedAt = reader.GetDateTimeOffset();
                        break;
                    case "forgotten":
                        forgotten = reader.TokenType == JsonTokenType.True;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw Malformed(json, e);
        }

        if (forgotten)
        {
            // A forgotten event's data is the JSON null; accept a server that leaves the field out altogether.
            data ??= NullJson;
            metadata = null;
        }

        if (id is null || position is null || stream is null || version is null || type is null || data is null || addedAt is null)
        {
            throw Malformed(json, null);
        }

        return new RecordedEvent
        {
            Id = id.Value,
            Position = position.Value,
            Stream = stream,
            Version = version.Value,
            Type = type,
            Data = data.Value,
            Metadata = metadata,
            MessageId = messageId,
            CausationId = causation ?? id.Value,
            CorrelationId = correlation ?? causation ?? id.Value,
            AddedAt = addedAt.Value,
            Forgotten = forgotten,
        };
    }

    /// <summary>
    /// Reads a STREAMMETA reply: <c>{"stream","maxCount","maxAge","truncated_before","deleted","forgotten_before","next_version"}</c> (0 or null: no limit;
    /// the snake_case spellings <c>max_count</c> and <c>max_age</c> are read too; missing fields take their defaults).
    /// </summary>
    public static StreamMetadata ReadStreamMetadata(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            string stream = root.GetProperty("stream").GetString() ?? throw Malformed(json, null);
            long maxCount = OptionalInt64(root, "maxCount", "max_count");
            long maxAge = OptionalInt64(root, "maxAge", "max_age");
            long truncatedBefore = OptionalInt64(root, "truncated_before", "truncatedBefore");
            bool deleted = root.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True;
            return new StreamMetadata(
                stream,
                maxCount > 0 ? maxCount : null,
                maxAge > 0 ? TimeSpan.FromMilliseconds(maxAge) : null,
                truncatedBefore,
                deleted,
                OptionalInt64(root, "forgotten_before", "forgottenBefore"),
                OptionalInt64(root, "next_version", "nextVersion"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw Malformed(json, e);
        }
    }

    /// <summary>Reads a SNAPSHOT GET reply: <c>{"stream","version","data","added_at"}</c> (an RFC 3339 time or unix milliseconds); the state is a slice of <paramref name="json"/>.</summary>
    public static Snapshot<ReadOnlyMemory<byte>> ReadSnapshot(byte[] json)
    {
        string? stream = null;
        long? version = null;
        ReadOnlyMemory<byte>? data = null;
        DateTimeOffset? addedAt = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, json);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("data"u8))
                {
                    data = RawValue(ref reader, json);
                    continue;
                }

                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "stream":
                        stream = reader.GetString();
                        break;
                    case "version":
                        version = reader.GetInt64();
                        break;
                    case "added_at":
                        addedAt = reader.TokenType == JsonTokenType.Number
                            ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64())
                            : reader.GetDateTimeOffset();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw Malformed(json, e);
        }

        return stream is null || version is null || data is null || addedAt is null
            ? throw Malformed(json, null)
            : new Snapshot<ReadOnlyMemory<byte>>(stream, version.Value, data.Value, addedAt.Value);
    }

    /// <summary>Reads one LISTSTREAMS entry: <c>{"stream","version","events","added_at","updated_at"}</c>.</summary>
    public static StreamInfo ReadStreamInfo(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return new StreamInfo(
                root.GetProperty("stream").GetString() ?? throw Malformed(json, null),
                root.GetProperty("version").GetInt64(),
                root.GetProperty("events").GetInt64(),
                root.GetProperty("added_at").GetDateTimeOffset(),
                root.GetProperty("updated_at").GetDateTimeOffset());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw Malformed(json, e);
        }
    }

    private static long OptionalInt64(JsonElement root, string name, string otherName) =>
        (root.TryGetProperty(name, out var value) || root.TryGetProperty(otherName, out value)) && value.ValueKind == JsonValueKind.Number
            ? value.GetInt64()
            : 0;

    /// <summary>A reply the client cannot read.</summary>
    public static EventflowDbException Malformed(string what, Exception? inner) =>
        new($"Unexpected reply from the server: {what}", (string?)null, inner);

    private static EventflowDbException Malformed(byte[] json, Exception? inner)
    {
        string text = Encoding.UTF8.GetString(json, 0, Math.Min(json.Length, 500));
        return Malformed(text, inner);
    }

    private static ReadOnlyMemory<byte> RawValue(ref Utf8JsonReader reader, byte[] json)
    {
        if (!reader.Read())
        {
            throw new JsonException("value expected");
        }

        int start = (int)reader.TokenStartIndex;
        reader.Skip();
        int end = (int)reader.BytesConsumed;
        return json.AsMemory(start, end - start);
    }

    private static Ulid ReadUlid(ref Utf8JsonReader reader)
    {
        Span<char> chars = stackalloc char[32];
        int length = reader.CopyString(chars);
        return Ulid.TryParse(chars[..length], out var id) ? id : throw new FormatException($"'{chars[..length]}' is not a ULID");
    }

    private static void Expect(bool condition, byte[] json)
    {
        if (!condition)
        {
            throw Malformed(json, null);
        }
    }

    private static byte[] Object(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
