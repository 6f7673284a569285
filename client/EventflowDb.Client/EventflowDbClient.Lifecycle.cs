using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using StackExchange.Redis;

namespace EventflowDb.Client;

/// <summary>Stream lifecycle (DELETE, TRUNCATE, STREAMMETA, FORGET) and snapshots (SNAPSHOT SAVE / GET).</summary>
public sealed partial class EventflowDbClient
{
    /// <summary>
    /// DELETE: soft-deletes a stream. It then reads as empty and leaves <see cref="ListStreamsAsync"/> and the global log
    /// (<see cref="ReadAllAsync"/>, subscriptions, groups). Written again, its versions continue where they stopped (they do
    /// not restart at 0). The events stay on disk until compaction, which is not built yet.
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="expectedVersion">
    /// The concurrency check: <see cref="ExpectedVersion.Exact(long)"/> (the stream's event count, as for
    /// <see cref="AppendAsync(string, ExpectedVersion, IEnumerable{EventData}, CancellationToken)"/>); null or
    /// <see cref="ExpectedVersion.Any"/>: none. <see cref="ExpectedVersion.NoStream"/> and <see cref="ExpectedVersion.Exists"/> are refused.
    /// </param>
    /// <param name="cancellationToken">Stops waiting for the reply (a sent DELETE may still be applied).</param>
    /// <returns>A task that completes when the deletion is durable.</returns>
    /// <exception cref="ArgumentException"><paramref name="expectedVersion"/> is <see cref="ExpectedVersion.NoStream"/> or <see cref="ExpectedVersion.Exists"/>.</exception>
    /// <exception cref="WrongExpectedVersionException">The stream did not pass the <paramref name="expectedVersion"/> check.</exception>
    /// <exception cref="InvalidEventException">The stream was never written (<c>INVALID stream does not exist</c>).</exception>
    /// <exception cref="EventflowDbException">Another server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">
    /// The connection failed; the DELETE may or may not have been applied. It is never sent again by itself (whatever
    /// <see cref="EventflowDbClientOptions.ConnectionFailureRetries"/> says): the server hides the versions below the
    /// stream's count when it runs the command, so a repeat after a lost reply would also hide events other clients added
    /// in between, and one with an expected version could fail a check that held. Read <see cref="GetStreamMetadataAsync"/>
    /// (<see cref="StreamMetadata.Deleted"/>, <see cref="StreamMetadata.NextVersion"/>) before sending it again, with the
    /// expected version you mean.
    /// </exception>
    public async Task DeleteStreamAsync(string stream, ExpectedVersion? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        var expected = expectedVersion ?? ExpectedVersion.Any;
        if (expected == ExpectedVersion.NoStream || expected == ExpectedVersion.Exists)
        {
            throw new ArgumentException("DELETE checks an exact event count (ExpectedVersion.Exact) or nothing (null, ExpectedVersion.Any).", nameof(expectedVersion));
        }

        ThrowIfDisposed();
        object[] arguments = expected.Value is { } count ? [stream, Number(count)] : [stream];

        // Never retried: the server takes the stream's count when the DELETE runs, so a repeat after a lost reply could hide
        // events appended in between (without a check), or fail a check that held (with one).
        await ExecuteAsync("DELETE", arguments, false, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// TRUNCATE: events of the stream below <paramref name="version"/> are no longer returned (by reads of the stream and of
    /// the global log). The versions of the remaining and later events do not change.
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="version">The first version to keep.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>A task that completes when the truncation is durable.</returns>
    /// <exception cref="InvalidEventException"><paramref name="version"/> is beyond the stream's event count, or the stream was never written.</exception>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed).</exception>
    public async Task TruncateStreamAsync(string stream, long version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ThrowIfDisposed();
        await ExecuteAsync("TRUNCATE", [stream, Number(version)], true, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// STREAMMETA SET: keeps only the newest <paramref name="maxCount"/> events of the stream and those younger than
    /// <paramref name="maxAge"/> visible; older events stop being returned. Null lifts a limit. Replaces both settings.
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="maxCount">The number of newest events to keep returning; null: no limit.</param>
    /// <param name="maxAge">The age beyond which events are no longer returned (whole milliseconds); null: no limit.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The stream's metadata after the change.</returns>
    /// <exception cref="InvalidEventException">The stream was never written (<c>INVALID stream does not exist</c>).</exception>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed).</exception>
    public async Task<StreamMetadata> SetStreamMetadataAsync(string stream, long? maxCount, TimeSpan? maxAge, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        if (maxCount is { } count)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count, nameof(maxCount));
        }

        long ageMilliseconds = 0;
        if (maxAge is { } age)
        {
            ageMilliseconds = (long)age.TotalMilliseconds;
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ageMilliseconds, nameof(maxAge));
        }

        ThrowIfDisposed();
        var reply = await ExecuteAsync("STREAMMETA", [stream, "SET", "maxCount", Number(maxCount ?? 0), "maxAge", Number(ageMilliseconds)], true, stream, cancellationToken).ConfigureAwait(false);
        return !reply.IsNull && reply.Resp2Type == ResultType.BulkString
            ? WireFormat.ReadStreamMetadata((byte[])reply!)
            : await GetStreamMetadataAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>STREAMMETA: the stream's limits (max count, max age) and state (truncation, deletion).</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The metadata; a stream that was never written has no limits, is not truncated or deleted, and its next version is 0.</returns>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed).</exception>
    public async Task<StreamMetadata> GetStreamMetadataAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ThrowIfDisposed();
        var reply = await ExecuteAsync("STREAMMETA", [stream], true, stream, cancellationToken).ConfigureAwait(false);
        return reply.IsNull
            ? new StreamMetadata(stream, null, null, 0, false, 0, 0)
            : WireFormat.ReadStreamMetadata(Bytes(reply, "STREAMMETA"));
    }

    /// <summary>
    /// FORGET (erasure, e.g. under the GDPR): every event of the stream keeps its id, position, stream, version and type, but
    /// its data and metadata are never returned again (<see cref="RecordedEvent.Forgotten"/> is then true). CHECKSUM does not
    /// change. The bytes leave the data directory's files at the next compaction (<see cref="CompactAsync"/>, or the server's
    /// background compaction).
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>A task that completes when the erasure is durable.</returns>
    /// <exception cref="InvalidEventException">The stream was never written (<c>INVALID stream does not exist</c>).</exception>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">
    /// The connection failed; the FORGET may or may not have been applied. It is never sent again by itself (whatever
    /// <see cref="EventflowDbClientOptions.ConnectionFailureRetries"/> says): FORGET covers the events the stream holds when
    /// the server runs it, so a repeat after a lost reply would also forget events other clients added in between. Read
    /// <see cref="GetStreamMetadataAsync"/> (<see cref="StreamMetadata.ForgottenBefore"/>) to see how far it got before
    /// sending it again.
    /// </exception>
    public async Task ForgetStreamAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ThrowIfDisposed();
        // Never retried: a repeat after a lost reply would forget events appended in between.
        await ExecuteAsync("FORGET", [stream], false, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// COMPACT: runs a compaction on the server now and waits for it. Afterwards no byte of the data or metadata of a
    /// forgotten stream remains in the server's data directory, and the space of deleted, truncated and expired events is
    /// given back where whole disk blocks of it can be. A compaction of a large store takes a while: the reply waits for it
    /// (the client's command time-out applies).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the reply (the compaction goes on).</param>
    /// <returns>The bytes the data directory occupied on disk before and after.</returns>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed; COMPACT is safe to repeat).</exception>
    public async Task<CompactionSize> CompactAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var items = Array(await ExecuteAsync("COMPACT", NoArguments, true, null, cancellationToken).ConfigureAwait(false), "COMPACT", 2);
        return new CompactionSize(Integer(items[0], "COMPACT"), Integer(items[1], "COMPACT"));
    }

    /// <summary>
    /// SNAPSHOT SAVE: stores <paramref name="state"/> as the latest snapshot of the stream, the state as of the event
    /// <paramref name="version"/> (it replaces the previous snapshot). Serialized with a source-generated contract.
    /// </summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="stream">The stream.</param>
    /// <param name="version">The version of the last event the state includes.</param>
    /// <param name="state">The state; it must serialize to a JSON object or array (a record, a class, a collection).</param>
    /// <param name="typeInfo">Its JSON contract, e.g. <c>MyJsonContext.Default.AccountState</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>A task that completes when the snapshot is durable.</returns>
    /// <exception cref="ArgumentException">The state serialized to a JSON string, number, boolean or null.</exception>
    /// <exception cref="InvalidEventException">The stream does not hold <paramref name="version"/> (or was never written).</exception>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed).</exception>
    public Task SaveSnapshotAsync<T>(string stream, long version, T state, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        ArgumentNullException.ThrowIfNull(state);
        return SaveSnapshotCoreAsync(stream, version, StateJson(JsonPayload.Serialize(state, typeInfo), typeof(T), nameof(state)), cancellationToken);
    }

    /// <summary>SNAPSHOT SAVE, serializing by reflection. See <see cref="SaveSnapshotAsync{T}(string, long, T, JsonTypeInfo{T}, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="stream">The stream.</param>
    /// <param name="version">The version of the last event the state includes.</param>
    /// <param name="state">The state; it must serialize to a JSON object or array.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>A task that completes when the snapshot is durable.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public Task SaveSnapshotAsync<T>(string stream, long version, T state, JsonSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return SaveSnapshotCoreAsync(stream, version, StateJson(JsonPayload.Serialize(state, options), typeof(T), nameof(state)), cancellationToken);
    }

    /// <summary>SNAPSHOT GET: the latest snapshot of the stream, deserialized with a source-generated contract, or null when it has none.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="stream">The stream.</param>
    /// <param name="typeInfo">The JSON contract of the state.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The snapshot, or null.</returns>
    /// <exception cref="JsonException">The snapshot's data does not fit <typeparamref name="T"/>, or is JSON null.</exception>
    /// <exception cref="EventflowDbException">A server error (<see cref="EventflowDbException.ErrorCode"/> says which).</exception>
    public async Task<Snapshot<T>?> GetSnapshotAsync<T>(string stream, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var raw = await GetSnapshotCoreAsync(stream, cancellationToken).ConfigureAwait(false);
        return raw is null ? null : Typed(raw, JsonPayload.Deserialize(raw.State, typeInfo));
    }

    /// <summary>SNAPSHOT GET, deserializing by reflection. See <see cref="GetSnapshotAsync{T}(string, JsonTypeInfo{T}, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="stream">The stream.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The snapshot, or null.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public async Task<Snapshot<T>?> GetSnapshotAsync<T>(string stream, JsonSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var raw = await GetSnapshotCoreAsync(stream, cancellationToken).ConfigureAwait(false);
        return raw is null ? null : Typed(raw, JsonPayload.Deserialize<T>(raw.State, options));
    }

    /// <summary>
    /// The state's JSON, checked to be an object or an array: the server keeps those as sent and anything else as a JSON
    /// string of its text, which would not read back as the same value.
    /// </summary>
    private static ReadOnlyMemory<byte> StateJson(ReadOnlyMemory<byte> json, Type stateType, string parameterName) =>
        json.Span.TrimStart(" \t\r\n"u8) is [(byte)'{' or (byte)'[', ..]
            ? json
            : throw new ArgumentException($"A snapshot state must serialize to a JSON object or array; {stateType.Name} serialized to {System.Text.Encoding.UTF8.GetString(json.Span[..Math.Min(json.Length, 40)])}.", parameterName);

    private async Task SaveSnapshotCoreAsync(string stream, long version, ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ThrowIfDisposed();
        await ExecuteAsync("SNAPSHOT", ["SAVE", stream, Number(version), json.ToArray()], true, stream, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Snapshot<ReadOnlyMemory<byte>>?> GetSnapshotCoreAsync(string stream, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ThrowIfDisposed();
        var reply = await ExecuteAsync("SNAPSHOT", ["GET", stream], true, stream, cancellationToken).ConfigureAwait(false);
        return reply.IsNull ? null : WireFormat.ReadSnapshot(Bytes(reply, "SNAPSHOT GET"));
    }

    private static Snapshot<T> Typed<T>(Snapshot<ReadOnlyMemory<byte>> raw, T? state) =>
        new(raw.Stream, raw.Version, state ?? throw new JsonException($"The snapshot of stream '{raw.Stream}' at version {raw.Version} is JSON null, not a {typeof(T).Name}."), raw.AddedAt);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
