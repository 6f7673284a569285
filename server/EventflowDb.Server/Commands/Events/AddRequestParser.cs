using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// Turns an ADD request (JSON or positional form) into an <see cref="AppendRequest"/>, enforcing every
/// rule before the store sees it. Event payloads are copied into one array owned by the request,
/// because the receive buffer is reused once the reply is written.
/// </summary>
internal static class AddRequestParser
{
    // Bytes the stored JSON adds per event beyond data, metadata and the escaped strings.
    private const int EventJsonOverhead = 320;

    private static readonly JsonWriterOptions StringWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static AppendRequest Parse(RespRequest request, int maxAppendBytes)
    {
        long requestBytes = 0;
        for (int i = 1; i < request.Count; i++)
        {
            requestBytes += request[i].Length;
        }

        if (requestBytes > maxAppendBytes)
        {
            throw CommandException.TooLarge($"ADD is over the {maxAppendBytes} byte limit");
        }

        return JsonArgument.IsJsonForm(request) ? ParseJson(request[1], maxAppendBytes, null, null) : ParsePositional(request, maxAppendBytes);
    }

    /// <summary>
    /// The body of <c>POST /streams/{stream}</c>: the JSON form of ADD without <c>stream</c>, which the path gives. The
    /// expected version is the body's <c>version</c>, else <paramref name="headerVersion"/> (the <c>Expected-Version</c>
    /// header), else <c>any</c>; a body and a header that disagree are INVALID. Same rules and errors as ADD.
    /// </summary>
    public static AppendRequest ParseBody(ReadOnlySpan<byte> json, string stream, ExpectedVersion? headerVersion, int maxAppendBytes)
    {
        if (json.Length > maxAppendBytes)
        {
            throw CommandException.TooLarge($"ADD is over the {maxAppendBytes} byte limit");
        }

        EventRules.ValidateStream(stream);
        return ParseJson(json, maxAppendBytes, stream, headerVersion);
    }

    public static ExpectedVersion ParseExpectedVersion(ReadOnlySpan<byte> text)
    {
        if (System.Text.Ascii.EqualsIgnoreCase(text, "any"u8))
        {
            return ExpectedVersion.Any;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(text, "no_stream"u8))
        {
            return ExpectedVersion.NoStream;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(text, "exists"u8))
        {
            return ExpectedVersion.Exists;
        }

        if (System.Buffers.Text.Utf8Parser.TryParse(text, out long value, out int used) && used == text.Length)
        {
            return ExpectedVersion.Exact(Arguments.NonNegative(value, "version"));
        }

        throw CommandException.Invalid("version must be a number of events, any, no_stream or exists");
    }

    private static AppendRequest ParsePositional(RespRequest request, int maxAppendBytes)
    {
        if (request.Count < 5 || (request.Count - 3) % 2 != 0)
        {
            throw CommandException.Syntax("wrong number of arguments for 'add' command");
        }

        var streamBytes = request[1];
        EventRules.ValidateStream(streamBytes);
        string stream = Encoding.UTF8.GetString(streamBytes);
        var expected = ParseExpectedVersion(request[2]);

        int count = (request.Count - 3) / 2;
        var events = new NewEvent[count];
        long estimate = 0;
        for (int e = 0; e < count; e++)
        {
            var typeBytes = request[3 + (2 * e)];
            EventRules.ValidateName(typeBytes, "event type", EventRules.MaxTypeBytes);
            string type = Encoding.UTF8.GetString(typeBytes);
            var data = PositionalData(request[4 + (2 * e)]);
            events[e] = new NewEvent { Type = type, Data = data };
            estimate += data.Length + (6L * (streamBytes.Length + typeBytes.Length)) + EventJsonOverhead;
        }

        CheckSize(estimate, maxAppendBytes);
        return new AppendRequest { Stream = stream, Expected = expected, Events = events };
    }

    /// <summary>A JSON object or array is stored as that value; anything else as a JSON string. Either way it must be UTF-8.</summary>
    internal static byte[] PositionalData(ReadOnlySpan<byte> data)
    {
        // Checked first: the JSON reader does not look at the bytes inside strings, and a JSON value is stored as sent.
        if (!System.Text.Unicode.Utf8.IsValid(data))
        {
            throw CommandException.Invalid("data must be UTF-8 text or JSON");
        }

        var trimmed = data.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && (trimmed[0] == (byte)'{' || trimmed[0] == (byte)'[') && IsJsonValue(data))
        {
            return data.ToArray();
        }

        var buffer = new ArrayBufferWriter<byte>(data.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer, StringWriterOptions))
        {
            writer.WriteStringValue(data);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The length <see cref="PositionalData"/> would give <paramref name="data"/>, found without allocating it: text is
    /// escaped (up to 6 bytes per input byte) chunk by chunk into one small buffer, and the count stops once it passes
    /// <paramref name="limit"/> (the result is then some length above the limit).
    /// </summary>
    internal static long PositionalDataLength(ReadOnlySpan<byte> data, long limit)
    {
        if (!System.Text.Unicode.Utf8.IsValid(data))
        {
            throw CommandException.Invalid("data must be UTF-8 text or JSON");
        }

        var trimmed = data.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && (trimmed[0] == (byte)'{' || trimmed[0] == (byte)'[') && IsJsonValue(data))
        {
            return data.Length;
        }

        const int Chunk = 1024;
        var buffer = new ArrayBufferWriter<byte>((6 * Chunk) + 16);
        using var writer = new Utf8JsonWriter(buffer, StringWriterOptions);
        long total = 2; // the quotes
        int start = 0;
        while (start < data.Length && total <= limit)
        {
            int end = Math.Min(data.Length, start + Chunk);
            while (end < data.Length && (data[end] & 0xC0) == 0x80)
            {
                end--; // never split a UTF-8 sequence: escaping is per character, so chunk lengths add up
            }

            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            writer.WriteStringValue(data[start..end]);
            writer.Flush();
            total += buffer.WrittenCount - 2;
            start = end;
        }

        return total;
    }

    private static bool IsJsonValue(ReadOnlySpan<byte> data)
    {
        try
        {
            var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read(); // nothing may follow the value
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static AppendRequest ParseJson(ReadOnlySpan<byte> json, int maxAppendBytes, string? pathStream, ExpectedVersion? headerVersion)
    {
        var reader = JsonArgument.Open(json);
        string? stream = pathStream;
        var expected = headerVersion ?? ExpectedVersion.Any;
        List<EventDraft>? drafts = null;
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("stream"u8) && pathStream is null)
            {
                JsonArgument.Read(ref reader);
                stream = JsonArgument.ReadString(ref reader, "stream");
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                JsonArgument.Read(ref reader);
                expected = reader.TokenType == JsonTokenType.String
                    ? ParseExpectedVersion(reader.ValueSpan)
                    : ExpectedVersion.Exact(Arguments.NonNegative(JsonArgument.ReadInt64(ref reader, "version"), "version"));
                if (headerVersion is { } header && header != expected)
                {
                    throw CommandException.Invalid($"version {expected} differs from the Expected-Version header {header}");
                }
            }
            else if (reader.ValueTextEquals("events"u8))
            {
                JsonArgument.Read(ref reader);
                drafts = ReadEvents(ref reader, json);
            }
            else
            {
                throw JsonArgument.UnknownField(ref reader, "ADD");
            }
        }

        if (stream is null)
        {
            throw CommandException.Invalid("stream is required");
        }

        EventRules.ValidateStream(stream);
        if (drafts is null || drafts.Count == 0)
        {
            throw CommandException.Invalid("events cannot be empty");
        }

        int streamBytes = Encoding.UTF8.GetByteCount(stream);
        long estimate = 0;
        long payloadBytes = 0;
        var messageIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in drafts)
        {
            int length = d.Data.GetOffsetAndLength(json.Length).Length + d.Metadata.GetOffsetAndLength(json.Length).Length;
            payloadBytes += length;
            estimate += length + EventJsonOverhead
                + (6L * (streamBytes + Encoding.UTF8.GetByteCount(d.Type) + (d.MessageId is null ? 0 : Encoding.UTF8.GetByteCount(d.MessageId))));
            if (d.MessageId is not null && !messageIds.Add(d.MessageId))
            {
                throw CommandException.Invalid($"message_id '{d.MessageId}' appears twice in one ADD");
            }
        }

        CheckSize(estimate, maxAppendBytes);

        // One copy of every payload, in one array owned by the request.
        var owned = new byte[payloadBytes];
        int used = 0;
        var events = new NewEvent[drafts.Count];
        for (int i = 0; i < drafts.Count; i++)
        {
            var d = drafts[i];
            var data = Copy(json[d.Data], owned, ref used);
            var metadata = d.Metadata.Equals(default(Range)) ? ReadOnlyMemory<byte>.Empty : Copy(json[d.Metadata], owned, ref used);
            events[i] = new NewEvent
            {
                Type = d.Type,
                Data = data,
                Metadata = metadata,
                MessageId = d.MessageId,
                CausationId = d.CausationId,
                CorrelationId = d.CorrelationId,
            };
        }

        return new AppendRequest { Stream = stream, Expected = expected, Events = events };
    }

    private static ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> source, byte[] target, ref int used)
    {
        source.CopyTo(target.AsSpan(used));
        var memory = new ReadOnlyMemory<byte>(target, used, source.Length);
        used += source.Length;
        return memory;
    }

    private static List<EventDraft> ReadEvents(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw CommandException.Syntax("invalid JSON: 'events' must be an array");
        }

        var drafts = new List<EventDraft>();
        while (true)
        {
            JsonArgument.Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return drafts;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw CommandException.Syntax("invalid JSON: each event must be an object");
            }

            drafts.Add(ReadEvent(ref reader, json));
        }
    }

    private static EventDraft ReadEvent(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        var draft = new EventDraft();
        bool hasData = false;
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("type"u8))
            {
                JsonArgument.Read(ref reader);
                draft.Type = JsonArgument.ReadString(ref reader, "type");
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                JsonArgument.Read(ref reader);
                hasData = reader.TokenType != JsonTokenType.Null;
                draft.Data = JsonArgument.SkipValue(ref reader, json);
            }
            else if (reader.ValueTextEquals("metadata"u8))
            {
                JsonArgument.Read(ref reader);
                var range = JsonArgument.SkipValue(ref reader, json);
                draft.Metadata = reader.TokenType == JsonTokenType.Null ? default : range;
            }
            else if (reader.ValueTextEquals("message_id"u8))
            {
                JsonArgument.Read(ref reader);
                draft.MessageId = JsonArgument.ReadString(ref reader, "message_id");
                EventRules.ValidateMessageId(draft.MessageId);
            }
            else if (reader.ValueTextEquals("causation_id"u8))
            {
                JsonArgument.Read(ref reader);
                draft.CausationId = ReadUlid(ref reader, "causation_id");
            }
            else if (reader.ValueTextEquals("correlation_id"u8))
            {
                JsonArgument.Read(ref reader);
                draft.CorrelationId = ReadUlid(ref reader, "correlation_id");
            }
            else
            {
                throw JsonArgument.UnknownField(ref reader, "an event");
            }
        }

        if (!hasData)
        {
            throw CommandException.Invalid("event data is required");
        }

        EventRules.ValidateType(draft.Type);
        return draft;
    }

    private static Ulid? ReadUlid(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        string text = JsonArgument.ReadString(ref reader, name);
        return Ulid.TryParse(text, out var id) ? id : throw CommandException.Invalid($"{name} is not a ULID");
    }

    private static void CheckSize(long estimate, int maxAppendBytes)
    {
        if (estimate > maxAppendBytes)
        {
            throw CommandException.TooLarge($"ADD is over the {maxAppendBytes} byte limit once stored");
        }
    }

    private sealed class EventDraft
    {
        public string Type { get; set; } = "";

        public Range Data { get; set; }

        public Range Metadata { get; set; }

        public string? MessageId { get; set; }

        public Ulid? CausationId { get; set; }

        public Ulid? CorrelationId { get; set; }
    }
}
