using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using NUlid;

namespace EventflowDb.Client;

/// <summary>
/// An event to append: its type, its data and optional metadata as UTF-8 JSON, and optional ids.
/// Use <c>with</c> to add ids or metadata: <c>EventData.Create("Deposited", deposit, Ctx.Default.Deposited) with { MessageId = commandId }</c>.
/// </summary>
public sealed record EventData
{
    private readonly string _type = "";
    private readonly ReadOnlyMemory<byte> _data;
    private readonly ReadOnlyMemory<byte>? _metadata;
    private readonly string? _messageId;

    /// <summary>Creates an event from its type and its data as UTF-8 JSON.</summary>
    /// <param name="type">The event type: non-empty, at most 128 UTF-8 bytes.</param>
    /// <param name="data">The data: one complete UTF-8 JSON value (object, array, string, number, ...), stored and returned as given.</param>
    /// <exception cref="ArgumentException">The type is empty or too long, or the data is not one JSON value.</exception>
    public EventData(string type, ReadOnlyMemory<byte> data)
    {
        Type = type;
        Data = data;
    }

    /// <summary>The event type: non-empty, at most 128 UTF-8 bytes. An <see cref="EventTypeMap"/> maps CLR types to these names.</summary>
    public string Type
    {
        get => _type;
        init => _type = ValidateType(value, nameof(Type));
    }

    /// <summary>The data: one complete UTF-8 JSON value. JSON <c>null</c> is not allowed (the server requires data).</summary>
    public ReadOnlyMemory<byte> Data
    {
        get => _data;
        init
        {
            if (!JsonPayload.IsValidJson(value.Span))
            {
                throw new ArgumentException("Event data must be one complete UTF-8 JSON value.", nameof(Data));
            }

            if (value.Span.Trim(" \t\r\n"u8).SequenceEqual("null"u8))
            {
                throw new ArgumentException("Event data cannot be JSON null.", nameof(Data));
            }

            _data = value;
        }
    }

    /// <summary>Optional metadata: one complete UTF-8 JSON value, or null for none.</summary>
    public ReadOnlyMemory<byte>? Metadata
    {
        get => _metadata;
        init
        {
            if (value is { } json && !JsonPayload.IsValidJson(json.Span))
            {
                throw new ArgumentException("Event metadata must be one complete UTF-8 JSON value.", nameof(Metadata));
            }

            _metadata = value;
        }
    }

    /// <summary>
    /// Optional idempotency key chosen by the application (non-empty, at most 128 UTF-8 bytes), unique within the stream.
    /// When every event of an append carries one that the stream already holds, the append stores nothing and returns the
    /// events stored the first time: such an append is safe to retry (and the client retries it after a connection failure).
    /// </summary>
    public string? MessageId
    {
        get => _messageId;
        init
        {
            if (value is not null && (value.Length == 0 || Encoding.UTF8.GetByteCount(value) > 128))
            {
                throw new ArgumentException("A message id is non-empty and at most 128 UTF-8 bytes.", nameof(MessageId));
            }

            _messageId = value;
        }
    }

    /// <summary>Optional id of what caused this event (typically a command's or another event's id); the server defaults it to the event's own id.</summary>
    public Ulid? CausationId { get; init; }

    /// <summary>Optional id of the conversation this event belongs to; the server defaults it to the causation id.</summary>
    public Ulid? CorrelationId { get; init; }

    /// <summary>Creates an event whose data is the given JSON text.</summary>
    /// <param name="type">The event type.</param>
    /// <param name="json">One complete JSON value, e.g. <c>{"amount":10}</c>.</param>
    /// <returns>The event.</returns>
    public static EventData FromJson(string type, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new EventData(type, Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Creates an event whose data is <paramref name="payload"/> serialized with a source-generated contract.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="type">The event type.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="typeInfo">Its JSON contract, e.g. <c>MyJsonContext.Default.Deposited</c>.</param>
    /// <returns>The event.</returns>
    public static EventData Create<T>(string type, T payload, JsonTypeInfo<T> typeInfo) =>
        new(type, JsonPayload.Serialize(payload, typeInfo));

    /// <summary>Creates an event whose data is <paramref name="payload"/> serialized by reflection.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="type">The event type.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/> (camelCase names).</param>
    /// <returns>The event.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public static EventData Create<T>(string type, T payload, JsonSerializerOptions? options = null) =>
        new(type, JsonPayload.Serialize(payload, options));

    /// <summary>A copy of this event with <paramref name="metadata"/> serialized as its metadata.</summary>
    /// <typeparam name="T">The metadata type.</typeparam>
    /// <param name="metadata">The metadata.</param>
    /// <param name="typeInfo">Its JSON contract.</param>
    /// <returns>The new event.</returns>
    public EventData WithMetadata<T>(T metadata, JsonTypeInfo<T> typeInfo) =>
        this with { Metadata = JsonPayload.Serialize(metadata, typeInfo) };

    /// <summary>A copy of this event with <paramref name="metadata"/> serialized by reflection as its metadata.</summary>
    /// <typeparam name="T">The metadata type.</typeparam>
    /// <param name="metadata">The metadata.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <returns>The new event.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public EventData WithMetadata<T>(T metadata, JsonSerializerOptions? options = null) =>
        this with { Metadata = JsonPayload.Serialize(metadata, options) };

    /// <summary>Checks an event type name: non-empty, at most 128 UTF-8 bytes.</summary>
    internal static string ValidateType(string? type, string parameterName)
    {
        if (string.IsNullOrEmpty(type) || Encoding.UTF8.GetByteCount(type) > 128)
        {
            throw new ArgumentException("An event type is non-empty and at most 128 UTF-8 bytes.", parameterName);
        }

        return type;
    }
}
