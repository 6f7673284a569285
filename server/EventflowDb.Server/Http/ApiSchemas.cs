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

    /// <summary>A stored event (SPEC "The event"), byte for byte the JSON of the RESP replies. A forgotten event (FORGET) has null data and metadata and "forgotten": true.</summary>
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
        [property: JsonPropertyName("message_id")] string? MessageId = null,
        [property: JsonPropertyName("forgotten")] bool? Forgotten = null);

    /// <summary>A stream summary of <c>GET /streams</c> (LISTSTREAMS).</summary>
    internal sealed record StreamSummary(
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("events")] long Events,
        [property: JsonPropertyName("added_at")] DateTimeOffset AddedAt,
        [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);

    /// <summary>A consumer group with its first pending and parked events (<c>GET /groups/{group}</c>).</summary>
    /// <param name="Name">The group's name.</param>
    /// <param name="Channel">The channel it follows.</param>
    /// <param name="Position">The id of the last event delivered for the first time ("0" before any).</param>
    /// <param name="Pending">Events delivered and not yet acknowledged.</param>
    /// <param name="Parked">Parked events.</param>
    /// <param name="Consumers">Every consumer that has read from the group.</param>
    /// <param name="AckTimeoutMs">Milliseconds before an unacknowledged event is delivered again.</param>
    /// <param name="MaxDeliveries">Deliveries before an event is parked.</param>
    /// <param name="PendingEvents">The first pending events (count), in log order.</param>
    /// <param name="ParkedEvents">The first parked events (count), in log order, as GROUP PARKED returns them.</param>
    internal sealed record GroupDetail(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("channel")] string Channel,
        [property: JsonPropertyName("position")] string Position,
        [property: JsonPropertyName("pending")] int Pending,
        [property: JsonPropertyName("parked")] int Parked,
        [property: JsonPropertyName("consumers")] string[] Consumers,
        [property: JsonPropertyName("ack_timeout_ms")] long AckTimeoutMs,
        [property: JsonPropertyName("max_deliveries")] int MaxDeliveries,
        [property: JsonPropertyName("pending_events")] IReadOnlyList<PendingEventBody> PendingEvents,
        [property: JsonPropertyName("parked_events")] IReadOnlyList<StoredEvent> ParkedEvents);

    /// <summary>A pending event of a group.</summary>
    /// <param name="Id">The event's id.</param>
    /// <param name="Consumer">The consumer it was last delivered to.</param>
    /// <param name="Deliveries">How many times it was delivered.</param>
    /// <param name="Event">The event (null when it is no longer in the log).</param>
    internal sealed record PendingEventBody(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("consumer")] string Consumer,
        [property: JsonPropertyName("deliveries")] int Deliveries,
        [property: JsonPropertyName("event")] StoredEvent? Event);

    /// <summary>The body of <c>POST /streams/{stream}/truncate</c>.</summary>
    /// <param name="Version">Versions below it are no longer returned (at most the stream's event count).</param>
    internal sealed record TruncateBody([property: JsonPropertyName("version")] long Version);

    /// <summary>The body of <c>PUT /streams/{stream}/metadata</c>; a field left out keeps its value.</summary>
    /// <param name="MaxCount">Only the newest this many events are returned; 0 = no limit.</param>
    /// <param name="MaxAge">Events older than this many milliseconds are not returned; 0 = no limit.</param>
    internal sealed record MetadataBody(
        [property: JsonPropertyName("maxCount")] long? MaxCount = null,
        [property: JsonPropertyName("maxAge")] long? MaxAge = null);

    /// <summary>A stream's lifecycle settings (STREAMMETA).</summary>
    /// <param name="Stream">The stream.</param>
    /// <param name="MaxCount">0 = no limit.</param>
    /// <param name="MaxAge">Milliseconds; 0 = no limit.</param>
    /// <param name="TruncatedBefore">Versions below it are hidden by TRUNCATE or DELETE.</param>
    /// <param name="Deleted">True after a DELETE until the stream is written again.</param>
    /// <param name="ForgottenBefore">Versions below it were forgotten (FORGET).</param>
    /// <param name="NextVersion">The version the next event gets (events ever written).</param>
    internal sealed record StreamMetadataBody(
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("maxCount")] long MaxCount,
        [property: JsonPropertyName("maxAge")] long MaxAge,
        [property: JsonPropertyName("truncated_before")] long TruncatedBefore,
        [property: JsonPropertyName("deleted")] bool Deleted,
        [property: JsonPropertyName("forgotten_before")] long ForgottenBefore,
        [property: JsonPropertyName("next_version")] long NextVersion);

    /// <summary>The body of <c>PUT /streams/{stream}/snapshot</c>.</summary>
    /// <param name="Version">The version the snapshot is of (one the stream holds).</param>
    /// <param name="Data">Any JSON value, returned exactly as given.</param>
    internal sealed record SnapshotBody(
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("data")] JsonElement Data);

    /// <summary>What a compaction (COMPACT) found and left: the data directory's bytes on disk before and after it.</summary>
    internal sealed record CompactReply(
        [property: JsonPropertyName("bytes_before")] long BytesBefore,
        [property: JsonPropertyName("bytes_after")] long BytesAfter);

    /// <summary>A stream's latest snapshot (SNAPSHOT GET).</summary>
    internal sealed record SnapshotReply(
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("data")] JsonElement Data,
        [property: JsonPropertyName("added_at")] DateTimeOffset AddedAt);
}
