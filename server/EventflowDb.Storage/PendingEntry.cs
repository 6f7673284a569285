namespace EventflowDb.Storage;

/// <summary>An ADD enqueued to FasterLog and waiting for the commit that covers its end address.</summary>
internal sealed class PendingEntry
{
    public required long Address { get; init; }

    /// <summary>Address just past the record: the commit must reach this, not just <see cref="Address"/>.</summary>
    public required long End { get; init; }

    /// <summary>The encoded entry, kept only while the entry has message ids (duplicate checks of in-flight ADDs read it).</summary>
    public required byte[]? Bytes { get; init; }

    /// <summary>What the committer applies once the entry is durable.</summary>
    public required EntrySummary Summary { get; init; }

    public required StreamInfo Stream { get; init; }

    public required bool HasMessageIds { get; init; }

    /// <summary>The result to complete <see cref="Completion"/> with; null in relaxed mode.</summary>
    public required AppendResult? Result { get; init; }

    /// <summary>Set for a control record: what it changes once committed (<see cref="Summary"/> then counts no events).</summary>
    public ControlChange? Change { get; init; }

    /// <summary>Completed by the committer for a control record.</summary>
    public TaskCompletionSource<LifecycleResult>? ControlCompletion { get; init; }

    /// <summary>The result <see cref="ControlCompletion"/> gets.</summary>
    public LifecycleResult ControlResult { get; init; }

    /// <summary>Completed by the committer; null in relaxed mode, where the append was acknowledged at once.</summary>
    public required TaskCompletionSource<AppendResult>? Completion { get; init; }
}
