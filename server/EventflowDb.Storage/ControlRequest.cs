namespace EventflowDb.Storage;

/// <summary>A lifecycle change as the writer checks and encodes it (one control record).</summary>
internal sealed class ControlRequest
{
    public required ControlKind Kind { get; init; }

    public required string Stream { get; init; }

    /// <summary>TRUNCATE's version, STREAMMETA's maxCount, SNAPSHOT's version (DELETE and FORGET take the stream's count).</summary>
    public long A { get; init; }

    /// <summary>STREAMMETA's maxAge in ms.</summary>
    public long B { get; init; }

    /// <summary>DELETE's expected version (the stream's count), or null for none.</summary>
    public long? Expected { get; init; }

    /// <summary>The change's time (unix ms) for its record; null: the writer's clock.</summary>
    public long? AddedAt { get; init; }

    /// <summary>SNAPSHOT's data (one JSON value).</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>Whether the change fits a stream of <paramref name="count"/> events (at least one).</summary>
    public LifecycleStatus Check(long count) => Kind switch
    {
        ControlKind.Delete when Expected is { } expected && expected < count => LifecycleStatus.WrongVersionConflict,
        ControlKind.Delete when Expected is { } expected && expected > count => LifecycleStatus.WrongVersionGap,
        ControlKind.Truncate when A > count => LifecycleStatus.BeyondStream,
        ControlKind.Snapshot when A >= count => LifecycleStatus.BeyondStream,
        _ => LifecycleStatus.Done,
    };
}
