using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventflowDb.Server.Http;

/// <summary>
/// The shapes the OpenAPI document shows for bodies the handlers read and write as raw JSON (the events are never
/// re-serialised: replies carry the stored bytes). Nothing is deserialised into these types.
/// </summary>
internal static class ApiSchemas
{
    /// <summary>The body of <c>POST /streams/{stream}</c>: the JSON form of ADD without <c>stream</c>.</summary>
    /// <param name="Events">At least one event.</param>
    /// <param name="Version">Expected version: the stream's event count, or "any", "no_stream", "exists"; default any (or the Expected-Version header).</param>
    internal sealed record AppendBody(
        [property: JsonPropertyName("events")] IReadOnlyList<NewEventBody> Events,
        [property: JsonPropertyName("version")] JsonElement? Version = null);

    /// <summary>One event to append.</summary>
    /// <param name="Type">Event type: non-empty, printable, at most 128 bytes.</param>
    /// <param name="Data">Any JSON value, stored and returned exactly as given.</param>
    /// <param name="Metadata">Optional, any JSON value.</param>
    /// <param name="MessageId">Optional idempotency key, at most 128 bytes: a retry with the same message ids stores nothing and returns the first events.</param>
    /// <param name="CausationId">Optional ULID; defaults to the event's own id.</param>
    /// <param name="CorrelationId">Optional ULID; defaults to the causation id.</param>
    internal sealed record NewEventBody(
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("data")] JsonElement Data,
        [property: JsonPropertyName("metadata")] JsonElement? Metadata = null,
        [property: JsonPropertyName("message_id")] string? MessageId = null,
        [property: JsonPropertyName("causation_id")] string? CausationId = null,
        [property: JsonPropertyName("correlation_id")] string? CorrelationId = null);

    /// <summary>A stored event (SPEC "The event"), byte for byte the JSON of the RESP replies.</summary>
    internal sealed record StoredEvent(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("position")] long Position,
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("data")] JsonElement Data,
        [property: JsonPropertyName("causation_id")] string CausationId,
        [property: JsonPropertyName("correlation_id")] string CorrelationId,
        [property: JsonPropertyName("added_at")] DateTimeOffset AddedAt,
        [property: JsonPropertyName("metadata")] JsonElement? Metadata = null,
        [property: JsonPropertyName("message_id")] string? MessageId = null);

    /// <summary>A stream summary of <c>GET /streams</c> (LISTSTREAMS).</summary>
    internal sealed record StreamSummary(
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("events")] long Events,
        [property: JsonPropertyName("added_at")] DateTimeOffset AddedAt,
        [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);
}
