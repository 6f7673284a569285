namespace EventflowDb.Storage;

/// <summary>
/// The lifecycle state of one stream, built from its control records (<see cref="ControlRecordFormat"/>) in log order.
/// Immutable: a change replaces the whole object, so a reader never sees half of one. Null on a stream that never had
/// a control record (the common case costs readers one null check).
/// </summary>
internal sealed record StreamLifecycle
{
    /// <summary>Versions below this are hidden (DELETE, TRUNCATE; only grows).</summary>
    public long HiddenBelow { get; init; }

    /// <summary>
    /// True after a DELETE until the stream is written again (<see cref="WrittenTo"/>): while set, the stream holds no
    /// version at or above <see cref="HiddenBelow"/> and reads as deleted. A later TRUNCATE never sets it: a stream
    /// truncated to empty is not deleted (it stays listed, with 0 events).
    /// </summary>
    public bool DeleteMark { get; init; }

    /// <summary>Only the newest maxCount events are returned; 0 = no limit.</summary>
    public long MaxCount { get; init; }

    /// <summary>Events older than this many milliseconds are not returned; 0 = no limit.</summary>
    public long MaxAgeMs { get; init; }

    /// <summary>Versions below this render without data and metadata (FORGET; only grows).</summary>
    public long ForgottenBelow { get; init; }

    /// <summary>Log address of the latest snapshot's control record, or -1 when the stream has none.</summary>
    public long SnapshotAddress { get; init; } = -1;

    /// <summary>The state after <paramref name="change"/>, whose control record is at <paramref name="address"/>.</summary>
    public static StreamLifecycle Apply(StreamLifecycle? before, in ControlChange change, long address)
    {
        if (change.Kind == ControlKind.Padding && before is not null)
        {
            return before;
        }

        var state = before ?? new StreamLifecycle();
        return change.Kind switch
        {
            ControlKind.Delete => state with { HiddenBelow = Math.Max(state.HiddenBelow, change.A), DeleteMark = true, SnapshotAddress = -1 },
            ControlKind.Truncate => state with { HiddenBelow = Math.Max(state.HiddenBelow, change.A) },
            ControlKind.Metadata => state with
            {
                // A negative field is "unchanged" (ControlRecordFormat.Unchanged): concurrent SETs of different fields merge in log order.
                MaxCount = change.A >= 0 ? change.A : state.MaxCount,
                MaxAgeMs = change.B >= 0 ? change.B : state.MaxAgeMs,
            },
            ControlKind.Snapshot => state with { SnapshotAddress = address },
            ControlKind.Forget => state with { ForgottenBelow = Math.Max(state.ForgottenBelow, change.A), SnapshotAddress = -1 },
            _ => state,
        };
    }

    /// <summary>The state once the stream holds <paramref name="count"/> events: the delete mark is cleared when they go past it (the same object when nothing changes).</summary>
    public StreamLifecycle WrittenTo(long count) => DeleteMark && count > HiddenBelow ? this with { DeleteMark = false } : this;

    /// <summary>The lowest version returned for a stream of <paramref name="count"/> events (truncation, deletion and maxCount; not maxAge).</summary>
    public long LowestVisible(long count) => Math.Min(count, Math.Max(HiddenBelow, MaxCount > 0 ? count - MaxCount : 0));

    /// <summary>Events hidden by truncation, deletion and maxCount (they leave EVENTCOUNT; expiry by age does not).</summary>
    public static long Hidden(StreamLifecycle? state, long count) => state?.LowestVisible(count) ?? 0;

    /// <summary>True when the stream reads as deleted: a DELETE and nothing written after it (the mark is cleared by a write).</summary>
    public static bool IsDeleted(StreamLifecycle? state, long count) => state is { DeleteMark: true } && count <= state.HiddenBelow;

    /// <summary>Events added before this unix time (ms) are hidden by maxAge; <see cref="long.MinValue"/> when there is no maxAge.</summary>
    public long ExpiredBefore(long nowMs) => MaxAgeMs > 0 ? nowMs - MaxAgeMs : long.MinValue;

    /// <summary>True when the event is hidden from reads: below the lowest visible version or expired.</summary>
    public bool Hides(long version, long count, long addedAtMs, long nowMs) => version < LowestVisible(count) || addedAtMs < ExpiredBefore(nowMs);
}
