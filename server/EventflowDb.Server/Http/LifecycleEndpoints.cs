using System.Text;
using System.Text.Json;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Commands.Lifecycle;
using EventflowDb.Server.Security;
using EventflowDb.Storage;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// The stream lifecycle endpoints: <c>DELETE /streams/{stream}</c> (DELETE, header <c>Expected-Version</c>),
/// <c>POST /streams/{stream}/truncate</c> <c>{"version"}</c> (TRUNCATE), <c>GET</c>/<c>PUT /streams/{stream}/metadata</c>
/// (STREAMMETA, <c>{"maxCount","maxAge"}</c>), <c>GET</c>/<c>PUT /streams/{stream}/snapshot</c> (SNAPSHOT,
/// <c>{"version","data"}</c>) and <c>POST /streams/{stream}/forget</c> (FORGET). Each runs the RESP command's checks and
/// store call: a change answers 204 once durable; a read 200 with the RESP reply's JSON, or 404 where RESP says nil.
/// </summary>
internal sealed class LifecycleEndpoints(ServerHealth health, StreamEndpoints streams, int maxAppendBytes)
{
    public const string TruncateSuffix = "/truncate";
    public const string MetadataSuffix = "/metadata";
    public const string SnapshotSuffix = "/snapshot";
    public const string ForgetSuffix = "/forget";

    public Task DeleteAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["DELETE"], async caller =>
    {
        string stream = WritableStream(context, caller, "");
        long? expected = context.Request.Headers["Expected-Version"].ToString() is { Length: > 0 } text
            ? long.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long value)
                ? Arguments.NonNegative(value, "expected version")
                : throw CommandException.Syntax("expected version is not an integer or out of range")
            : null;
        await ChangeAsync(context, caller.Server.Store.DeleteStreamAsync(stream, expected, cancellationToken: CancellationToken.None), "DELETE", expected).ConfigureAwait(false);
    });

    public Task TruncateAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["TRUNCATE"], async caller =>
    {
        string stream = WritableStream(context, caller, TruncateSuffix);
        var body = await streams.ReadBodyAsync(context).ConfigureAwait(false);
        long? version = null;
        var reader = JsonArgument.Open(body);
        while (JsonArgument.NextProperty(ref reader))
        {
            version = reader.ValueTextEquals("version"u8)
                ? JsonArgument.ReadNonNegative(ref reader, "version")
                : throw JsonArgument.UnknownField(ref reader, "TRUNCATE");
        }

        long at = version ?? throw CommandException.Invalid("version is required");
        await ChangeAsync(context, caller.Server.Store.TruncateStreamAsync(stream, at, cancellationToken: CancellationToken.None), "TRUNCATE", at).ConfigureAwait(false);
    });

    public Task GetMetadataAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["STREAMMETA"], async caller =>
    {
        string stream = ReadableStream(context, caller, MetadataSuffix);
        var metadata = caller.Server.Store.GetStreamMetadata(stream);
        await WriteJsonOrNotFoundAsync(context, metadata is null ? null : StreamMetaJson.Write(metadata), stream).ConfigureAwait(false);
    }, AclCategory.Read);

    public Task SetMetadataAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["STREAMMETA"], async caller =>
    {
        string stream = WritableStream(context, caller, MetadataSuffix);
        var body = await streams.ReadBodyAsync(context).ConfigureAwait(false);
        long? maxCount = null;
        long? maxAge = null;
        var reader = JsonArgument.Open(body);
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("maxCount"u8))
            {
                maxCount = JsonArgument.ReadNonNegative(ref reader, "maxCount");
            }
            else if (reader.ValueTextEquals("maxAge"u8))
            {
                maxAge = JsonArgument.ReadNonNegative(ref reader, "maxAge");
            }
            else
            {
                throw CommandException.Invalid($"unknown STREAMMETA field '{ErrorText.Excerpt(reader.ValueSpan)}' (maxCount, maxAge)");
            }
        }

        // A field not named stays as it is when the change is applied (merged in log order, not read here).
        var change = caller.Server.Store.SetStreamMetadataAsync(stream, maxCount, maxAge, cancellationToken: CancellationToken.None);
        await ChangeAsync(context, change, "STREAMMETA", null).ConfigureAwait(false);
    }, AclCategory.Write);

    public Task GetSnapshotAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["SNAPSHOT"], async caller =>
    {
        string stream = ReadableStream(context, caller, SnapshotSuffix);
        var snapshot = caller.Server.Store.ReadSnapshot(stream);
        await WriteJsonOrNotFoundAsync(context, snapshot is null ? null : SnapshotJson.Write(stream, snapshot), stream).ConfigureAwait(false);
    }, AclCategory.Read);

    public Task SaveSnapshotAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["SNAPSHOT"], async caller =>
    {
        string stream = WritableStream(context, caller, SnapshotSuffix);
        var body = await streams.ReadBodyAsync(context).ConfigureAwait(false);
        SnapshotCommand.CheckSize(body.Length, maxAppendBytes);
        long? version = null;
        Range? data = null;
        var reader = JsonArgument.Open(body);
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("version"u8))
            {
                version = JsonArgument.ReadNonNegative(ref reader, "version");
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                JsonArgument.Read(ref reader);
                data = reader.TokenType == JsonTokenType.Null ? null : JsonArgument.SkipValue(ref reader, body);
            }
            else
            {
                throw JsonArgument.UnknownField(ref reader, "SNAPSHOT");
            }
        }

        long at = version ?? throw CommandException.Invalid("version is required");
        var bytes = data is { } range ? body.AsMemory(range) : throw CommandException.Invalid("data is required");
        await ChangeAsync(context, caller.Server.Store.SaveSnapshotAsync(stream, at, bytes, cancellationToken: CancellationToken.None), "SNAPSHOT", at).ConfigureAwait(false);
    }, AclCategory.Write);

    public Task ForgetAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["FORGET"], async caller =>
    {
        string stream = WritableStream(context, caller, ForgetSuffix);
        await ChangeAsync(context, caller.Server.Store.ForgetStreamAsync(stream, cancellationToken: CancellationToken.None), "FORGET", null).ConfigureAwait(false);
    });

    /// <summary>POST /compact: runs a compaction (COMPACT) and answers 200 with the bytes before and after once it is done.</summary>
    public Task CompactAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["COMPACT"], async caller =>
    {
        Storage.CompactionResult result;
        try
        {
            result = await caller.Server.Store.CompactAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (StoreReadOnlyException e)
        {
            await HttpErrors.WriteAsync(context, $"ERR {e.Message}", StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        await Results.Json(new ApiSchemas.CompactReply(result.BytesBefore, result.BytesAfter)).ExecuteAsync(context).ConfigureAwait(false);
    });

    private static string WritableStream(HttpContext context, HttpCaller caller, string suffix)
    {
        string stream = Encoding.UTF8.GetString(ApiArguments.StreamFromPath(context, StreamEndpoints.StreamsPrefix, suffix));
        StreamPermissions.CheckWrite(caller, stream);
        return stream;
    }

    private static string ReadableStream(HttpContext context, HttpCaller caller, string suffix)
    {
        string stream = Encoding.UTF8.GetString(ApiArguments.StreamFromPath(context, StreamEndpoints.StreamsPrefix, suffix));
        StreamPermissions.CheckRead(caller, stream);
        return stream;
    }

    /// <summary>Runs a change (not cancelled with the request: once handed to the store it completes); 204 once durable.</summary>
    private static async Task ChangeAsync(HttpContext context, Task<LifecycleResult> change, string command, long? version)
    {
        LifecycleResult result;
        try
        {
            result = await change.ConfigureAwait(false);
        }
        catch (StoreReadOnlyException e)
        {
            await HttpErrors.WriteAsync(context, $"ERR {e.Message}", StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }
        catch (Cluster.ClusterUnavailableException e)
        {
            await HttpErrors.WriteAsync(context, e.Message, StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }
        catch (ArgumentException e)
        {
            throw CommandException.TooLarge(e.Message);
        }

        if (LifecycleOutcome.Error(result, command, version) is { } error)
        {
            await HttpErrors.WriteAsync(context, error).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task WriteJsonOrNotFoundAsync(HttpContext context, byte[]? json, string stream)
    {
        if (json is null)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ERR", $"no such stream or snapshot: {ErrorText.Excerpt(stream)}").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = JsonPages.JsonContentType;
        context.Response.ContentLength = json.Length;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }
}
