namespace EventflowDb.Client;

/// <summary>The lifecycle settings and state of a stream, as STREAMMETA reports them.</summary>
/// <param name="Stream">The stream.</param>
/// <param name="MaxCount">Only the newest this many events are returned; null: no limit.</param>
/// <param name="MaxAge">Only events younger than this are returned; null: no limit.</param>
/// <param name="TruncatedBefore">Events below this version are no longer returned (TRUNCATE, or DELETE, which hides every version the stream held); 0 when neither ran.</param>
/// <param name="Deleted">True when the stream was deleted (DELETE) and not written since.</param>
/// <param name="ForgottenBefore">Events below this version were forgotten (FORGET): they come back without data or metadata.</param>
/// <param name="NextVersion">
/// The version the stream's next event gets: the number of events it was ever given, hidden ones included. After a DELETE
/// the stream reads as empty but its versions continue, so <c>ExpectedVersion.Exact(NextVersion)</c> appends to it.
/// </param>
public sealed record StreamMetadata(string Stream, long? MaxCount, TimeSpan? MaxAge, long TruncatedBefore, bool Deleted, long ForgottenBefore, long NextVersion);

/// <summary>The latest snapshot of a stream (SNAPSHOT GET): the state of its aggregate as of <see cref="Version"/>.</summary>
/// <typeparam name="T">The state type.</typeparam>
/// <param name="Stream">The stream.</param>
/// <param name="Version">The version of the last event the state includes; read the stream from <c>Version + 1</c> to catch up.</param>
/// <param name="State">The state, deserialized from the snapshot's JSON.</param>
/// <param name="AddedAt">When the server stored the snapshot (UTC).</param>
public sealed record Snapshot<T>(string Stream, long Version, T State, DateTimeOffset AddedAt);
