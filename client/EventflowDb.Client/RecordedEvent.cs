using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using NUlid;

namespace EventflowDb.Client;

/// <summary>An event as stored by the server.</summary>
public sealed class RecordedEvent
{
    /// <summary>The id assigned by the server. Ids strictly increase in log order, so an id is also a position token for <see cref="EventflowDbClient.ReadAllAsync"/>.</summary>
    public required Ulid Id { get; init; }

    /// <summary>The 0-based, gap-free position of the event in the global log.</summary>
    public required long Position { get; init; }

    /// <summary>The stream the event belongs to.</summary>
    public required string Stream { get; init; }

    /// <summary>The 0-based position of the event within its stream.</summary>
    public required long Version { get; init; }

    /// <summary>The event type.</summary>
    public required string Type { get; init; }

    /// <summary>The data as UTF-8 JSON, byte for byte as it was appended; the JSON <c>null</c> when the event was <see cref="Forgotten"/>.</summary>
    public required ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>The metadata as UTF-8 JSON, or null when the event has none (or was <see cref="Forgotten"/>).</summary>
    public ReadOnlyMemory<byte>? Metadata { get; init; }

    /// <summary>
    /// True when the event's stream was forgotten (FORGET): the event keeps its id, position, stream, version and type, but
    /// its <see cref="Data"/> is the JSON <c>null</c> and its <see cref="Metadata"/> null. Check it before deserializing.
    /// </summary>
    public bool Forgotten { get; init; }

    /// <summary>The idempotency key given at append time, or null.</summary>
    public string? MessageId { get; init; }

    /// <summary>The causation id (the event's own <see cref="Id"/> unless one was given).</summary>
    public required Ulid CausationId { get; init; }

    /// <summary>The correlation id (the causation id unless one was given).</summary>
    public required Ulid CorrelationId { get; init; }

    /// <summary>When the server stored the event (UTC); the same for all events of one append.</summary>
    public required DateTimeOffset AddedAt { get; init; }

    /// <summary>The data as JSON text.</summary>
    /// <returns>The UTF-8 data decoded as a string.</returns>
    public string GetDataJson() => Encoding.UTF8.GetString(Data.Span);

    /// <summary>The metadata as JSON text, or null when the event has none.</summary>
    /// <returns>The UTF-8 metadata decoded as a string, or null.</returns>
    public string? GetMetadataJson() => Metadata is { } metadata ? Encoding.UTF8.GetString(metadata.Span) : null;

    /// <summary>Deserializes the data with a source-generated contract.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="typeInfo">The JSON contract, e.g. <c>MyJsonContext.Default.Deposited</c>.</param>
    /// <returns>The payload.</returns>
    /// <exception cref="JsonException">The data does not fit <typeparamref name="T"/>, or is JSON null.</exception>
    /// <exception cref="InvalidOperationException">The event was <see cref="Forgotten"/>: it has no data any more.</exception>
    public T Deserialize<T>(JsonTypeInfo<T> typeInfo)
    {
        ThrowIfForgotten();
        return JsonPayload.Deserialize(Data, typeInfo) ?? throw NullData(typeof(T));
    }

    /// <summary>Deserializes the data by reflection.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <returns>The payload.</returns>
    /// <exception cref="JsonException">The data does not fit <typeparamref name="T"/>, or is JSON null.</exception>
    /// <exception cref="InvalidOperationException">The event was <see cref="Forgotten"/>: it has no data any more.</exception>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public T Deserialize<T>(JsonSerializerOptions? options = null)
    {
        ThrowIfForgotten();
        return JsonPayload.Deserialize<T>(Data, options) ?? throw NullData(typeof(T));
    }

    /// <summary>Deserializes the metadata with a source-generated contract.</summary>
    /// <typeparam name="T">The metadata type.</typeparam>
    /// <param name="typeInfo">The JSON contract.</param>
    /// <returns>The metadata, or default when the event has none.</returns>
    public T? DeserializeMetadata<T>(JsonTypeInfo<T> typeInfo) =>
        Metadata is { } metadata ? JsonPayload.Deserialize(metadata, typeInfo) : default;

    /// <summary>Deserializes the metadata by reflection.</summary>
    /// <typeparam name="T">The metadata type.</typeparam>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <returns>The metadata, or default when the event has none.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public T? DeserializeMetadata<T>(JsonSerializerOptions? options = null) =>
        Metadata is { } metadata ? JsonPayload.Deserialize<T>(metadata, options) : default;

    /// <inheritdoc />
    public override string ToString() => $"{Stream}@{Version} {Type} ({Id}, position {Position}){(Forgotten ? " forgotten" : "")}";

    /// <summary>Throws when the event was <see cref="Forgotten"/>, naming it (its data is gone, so it cannot be deserialized).</summary>
    /// <exception cref="InvalidOperationException">The event was forgotten.</exception>
    internal void ThrowIfForgotten()
    {
        if (Forgotten)
        {
            throw new InvalidOperationException($"Event {Id} ({Stream}@{Version}, {Type}) was forgotten (FORGET): its data and metadata are gone. Check RecordedEvent.Forgotten before deserializing.");
        }
    }

    private JsonException NullData(Type type) => new($"The data of event {Id} ({Type}) is JSON null, not a {type.Name}.");
}
