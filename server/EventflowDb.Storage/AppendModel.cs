using NUlid;

namespace EventflowDb.Storage;

/// <summary>Expected version of an append: an exact stream length, or one of the special values.</summary>
public readonly record struct ExpectedVersion(long Value)
{
    private const long AnyValue = -1;
    private const long NoStreamValue = -2;
    private const long ExistsValue = -3;

    /// <summary>No check.</summary>
    public static ExpectedVersion Any => new(AnyValue);

    /// <summary>The stream must not exist yet.</summary>
    public static ExpectedVersion NoStream => new(NoStreamValue);

    /// <summary>The stream must hold at least one event.</summary>
    public static ExpectedVersion Exists => new(ExistsValue);

    /// <summary>The stream must hold exactly <paramref name="count"/> events.</summary>
    public static ExpectedVersion Exact(long count) => new(count);

    /// <summary>True for an exact count.</summary>
    public bool IsExact => Value >= 0;

    /// <summary>Whether a stream holding <paramref name="count"/> events meets this expectation: Appended, or which conflict.</summary>
    public AppendStatus Check(long count) => Value switch
    {
        AnyValue => AppendStatus.Appended,
        NoStreamValue => count == 0 ? AppendStatus.Appended : AppendStatus.WrongVersionConflict,
        ExistsValue => count >= 1 ? AppendStatus.Appended : AppendStatus.WrongVersionGap,
        long n when n < count => AppendStatus.WrongVersionConflict,
        long n when n > count => AppendStatus.WrongVersionGap,
        _ => AppendStatus.Appended,
    };

    /// <inheritdoc />
    public override string ToString() => Value switch
    {
        AnyValue => "any",
        NoStreamValue => "no_stream",
        ExistsValue => "exists",
        _ => Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>One event to append. Validated by the caller (type non-empty, sizes within limits).</summary>
public sealed class NewEvent
{
    /// <summary>Event type, non-empty, at most 256 UTF-8 bytes.</summary>
    public required string Type { get; init; }

    /// <summary>The data as one complete, valid JSON value (a JSON string literal with its quotes, an object, an array, ...), stored and returned byte for byte.</summary>
    public required ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>Optional metadata as one complete JSON value; empty when absent.</summary>
    public ReadOnlyMemory<byte> Metadata { get; init; }

    /// <summary>Optional causation id; defaults to the event's own id.</summary>
    public Ulid? CausationId { get; init; }

    /// <summary>Optional correlation id; defaults to the causation id.</summary>
    public Ulid? CorrelationId { get; init; }

    /// <summary>Optional idempotency key, at most 128 UTF-8 bytes.</summary>
    public string? MessageId { get; init; }

    /// <summary>
    /// The event's id when it was chosen before the append (a cluster leader stamps it, so every member stores the same);
    /// null: the store assigns one. An id not above the store's last id is replaced by the next one after it, so ids
    /// still increase in log order.
    /// </summary>
    public Ulid? Id { get; init; }
}

/// <summary>An atomic append to one stream.</summary>
public sealed class AppendRequest
{
    /// <summary>Stream name (validated by the caller).</summary>
    public required string Stream { get; init; }

    /// <summary>Expected version.</summary>
    public required ExpectedVersion Expected { get; init; }

    /// <summary>At least one event.</summary>
    public required IReadOnlyList<NewEvent> Events { get; init; }

    /// <summary>The events' added_at in Unix milliseconds when chosen before the append (a cluster leader stamps it); null: now.</summary>
    public long? AddedAt { get; init; }
}

/// <summary>Outcome of an append.</summary>
public enum AppendStatus
{
    /// <summary>Stored and durable.</summary>
    Appended,

    /// <summary>Every message id was already stored for this stream; nothing was written, the first events are returned.</summary>
    Duplicate,

    /// <summary>Expected version lower than the stream's count, or no_stream on an existing stream.</summary>
    WrongVersionConflict,

    /// <summary>Expected version higher than the stream's count, or exists on a missing stream.</summary>
    WrongVersionGap,

    /// <summary>Some, but not all, message ids of the batch were already stored.</summary>
    PartialDuplicate,
}

/// <summary>Result of an append. <see cref="Events"/> holds the stored events' JSON for Appended and Duplicate.</summary>
public sealed class AppendResult
{
    /// <summary>Outcome.</summary>
    public required AppendStatus Status { get; init; }

    /// <summary>The stream's event count when the append was checked.</summary>
    public required long StreamCount { get; init; }

    /// <summary>JSON of the stored events (one per event), empty when rejected.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Events { get; init; } = [];
}
