namespace EventflowDb.Storage;

/// <summary>Outcome of a lifecycle change (DELETE, TRUNCATE, STREAMMETA SET, SNAPSHOT SAVE, FORGET).</summary>
public enum LifecycleStatus
{
    /// <summary>Written and durable.</summary>
    Done,

    /// <summary>The stream holds no event (never written): nothing was written.</summary>
    NoStream,

    /// <summary>DELETE's expected version is lower than the stream's count.</summary>
    WrongVersionConflict,

    /// <summary>DELETE's expected version is higher than the stream's count.</summary>
    WrongVersionGap,

    /// <summary>TRUNCATE past the stream's count, or SNAPSHOT SAVE of a version the stream does not hold.</summary>
    BeyondStream,
}

/// <summary>Result of a lifecycle change: its status and the stream's event count when it was checked.</summary>
public readonly record struct LifecycleResult(LifecycleStatus Status, long StreamCount);

/// <summary>A stream's lifecycle settings as STREAMMETA shows them.</summary>
/// <param name="Stream">The stream.</param>
/// <param name="MaxCount">Only the newest this many events are returned; 0 = no limit.</param>
/// <param name="MaxAgeMs">Events older than this are not returned; 0 = no limit.</param>
/// <param name="TruncatedBefore">Versions below this are hidden by DELETE or TRUNCATE.</param>
/// <param name="Deleted">The stream reads as deleted (a DELETE and nothing written since).</param>
/// <param name="ForgottenBefore">Versions below this were forgotten (FORGET).</param>
/// <param name="Count">Events the stream was ever given (its next version).</param>
public sealed record StreamMetadata(string Stream, long MaxCount, long MaxAgeMs, long TruncatedBefore, bool Deleted, long ForgottenBefore, long Count);

/// <summary>A stream's latest snapshot (SNAPSHOT GET).</summary>
/// <param name="Version">The version the snapshot is of.</param>
/// <param name="Data">The data as one JSON value, as given.</param>
/// <param name="AddedAtMs">When it was saved (unix milliseconds).</param>
public sealed record StreamSnapshot(long Version, ReadOnlyMemory<byte> Data, long AddedAtMs);
