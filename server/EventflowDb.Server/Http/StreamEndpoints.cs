using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Groups;
using EventflowDb.Server.Security;
using EventflowDb.Storage;
using Microsoft.AspNetCore.Http;
using NUlid;

namespace EventflowDb.Server.Http;

/// <summary>
/// The event endpoints of SPEC "HTTP": <c>POST /streams/{stream}</c> (ADD), <c>GET /streams/{stream}</c> (GET),
/// <c>GET /all</c> (GETALL) and <c>GET /streams</c> (LISTSTREAMS). Each parses and checks its input with the code of its
/// RESP command, runs the same store call and replies with the same event JSON, in a JSON array. A read's next page is
/// in a <c>Link: &lt;...&gt;; rel="next"</c> header whenever the page holds something; an empty page has none (the same
/// request then asks again for what is new).
/// </summary>
internal sealed class StreamEndpoints(ServerHealth health, int maxAppendBytes)
{
    public const string StreamsPrefix = "/streams/";

    public const string EventsPrefix = "/events/";

    public Task AppendAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["ADD"], async caller =>
    {
        var stream = ApiArguments.StreamFromPath(context, StreamsPrefix);
        ExpectedVersion? header = context.Request.Headers["Expected-Version"].ToString() is { Length: > 0 } text
            ? AddRequestParser.ParseExpectedVersion(Encoding.UTF8.GetBytes(text.Trim()))
            : null;
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var append = AddRequestParser.ParseBody(body, Encoding.UTF8.GetString(stream), header, maxAppendBytes);
        StreamPermissions.CheckWrite(caller, append.Stream);

        AppendResult result;
        try
        {
            // Not cancelled with the request: once handed to the store an append completes, all or nothing.
            result = await caller.Server.Store.AppendAsync(append, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (AppendOutcome.Failure(e) is { } failure)
        {
            caller.Server.Logger.Debug("HTTP append to {Stream} refused: {Error}", append.Stream, e.Message);
            await HttpErrors.WriteAsync(context, failure, e is StoreReadOnlyException or Cluster.ClusterUnavailableException ? StatusCodes.Status503ServiceUnavailable : null).ConfigureAwait(false);
            return;
        }

        if (AppendOutcome.Error(append, result) is { } error)
        {
            await HttpErrors.WriteAsync(context, error).ConfigureAwait(false);
            return;
        }

        long first = result.Events.Count > 0 ? JsonPages.IntegerField(result.Events[0].Span, "version"u8) ?? 0 : 0;
        context.Response.Headers.Location = ApiArguments.StreamPath(StreamsPrefix, stream) + "?from=" + first.ToString(CultureInfo.InvariantCulture);
        if (result.Status == AppendStatus.Duplicate)
        {
            context.Response.Headers["Idempotent-Replay"] = "true";
        }

        await JsonPages.WriteAsync(context, result.Events, next: null, StatusCodes.Status201Created).ConfigureAwait(false);
    });

    public Task ReadStreamAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["GET"], async caller =>
    {
        var stream = ApiArguments.StreamFromPath(context, StreamsPrefix);
        long from = ApiArguments.NonNegative(context.Request, "from");
        long limit = ApiArguments.NonNegative(context.Request, "limit");
        StreamPermissions.CheckRead(caller, stream);
        var page = NewPage(caller);
        int count = await caller.Server.Store.ReadStreamAsync(stream, from, EventRules.PageSize(limit, caller.Server.Options), page, caller.Aborted).ConfigureAwait(false);
        string? next = null;
        if (count > 0 && JsonPages.IntegerField(page[count - 1], "version"u8) is { } last)
        {
            next = ApiArguments.StreamPath(StreamsPrefix, stream) + "?from=" + (last + 1).ToString(CultureInfo.InvariantCulture) + LimitQuery(limit);
        }

        await JsonPages.WriteAsync(context, page, next).ConfigureAwait(false);
    });

    public Task ReadAllAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["GETALL"], async caller =>
    {
        var after = Arguments.Offset(Encoding.UTF8.GetBytes(ApiArguments.Text(context.Request, "after") ?? ""));
        long limit = ApiArguments.NonNegative(context.Request, "limit");
        string? channel = ApiArguments.Text(context.Request, "channel");
        var filter = AllEventsRead.FilterFor(caller, channel);
        var page = NewPage(caller);
        var read = new AllEventsRead(caller.Server.Store, page, filter, EventRules.PageSize(limit, caller.Server.Options), AllEventsRead.BudgetFor(filter)) { Cursor = after };
        await read.NextAsync(caller.Aborted).ConfigureAwait(false);

        // After a filtered scan that found nothing, the next page starts past what it examined.
        string? nextAfter = page.Count > 0 ? JsonPages.StringField(page[page.Count - 1], "id"u8) : read.Cursor != after ? read.Cursor.ToString() : null;
        string? next = nextAfter is null ? null
            : "/all?after=" + nextAfter + LimitQuery(limit) + (channel is null ? "" : "&channel=" + Uri.EscapeDataString(channel));
        await JsonPages.WriteAsync(context, page, next).ConfigureAwait(false);
    });

    public Task ListStreamsAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["LISTSTREAMS"], async caller =>
    {
        long skip = ApiArguments.NonNegative(context.Request, "skip");
        long limit = ApiArguments.NonNegative(context.Request, "limit");

        // It names every stream, so a user limited to some streams may not list them (as LISTSTREAMS).
        StreamPermissions.CheckReadsAll(caller, "*");
        var page = NewPage(caller);
        int count = caller.Server.Store.ListStreams(skip, EventRules.PageSize(limit, caller.Server.Options), page);
        string? next = count > 0 ? "/streams?skip=" + (skip + count).ToString(CultureInfo.InvariantCulture) + LimitQuery(limit) : null;
        await JsonPages.WriteAsync(context, page, next).ConfigureAwait(false);
    });

    /// <summary>
    /// <c>GET /events/{id}</c>: one event by its id (the log-order read of GETALL, so what GETALL skips is not found), for
    /// the console's causation and correlation links. It runs as GET for the ACL and needs read access to the event's
    /// stream; an id that names no event is 404.
    /// </summary>
    public Task ReadEventAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["GET"], async caller =>
    {
        string path = context.Request.Path.Value ?? "";
        string text = path.StartsWith(EventsPrefix, StringComparison.Ordinal) ? path[EventsPrefix.Length..] : "";
        var id = Arguments.Offset(Encoding.UTF8.GetBytes(text));
        if (id == Ulid.Empty)
        {
            throw CommandException.Invalid("not an event id (ULID)");
        }

        var page = NewPage(caller);
        byte[]? json = await EventLookup.ReadAsync(caller.Server.Store, id, page).ConfigureAwait(false);
        if (json is null || JsonPages.StringField(json, "stream"u8) is not { } stream)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ERR", $"no event {id}").ConfigureAwait(false);
            return;
        }

        StreamPermissions.CheckRead(caller, stream);
        context.Response.ContentType = JsonPages.JsonContentType;
        context.Response.ContentLength = json.Length;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    });

    private static EventPage NewPage(HttpCaller caller) => new() { ByteLimit = caller.Server.Options.MaxPageBytes };

    private static string LimitQuery(long limit) => limit == 0 ? "" : "&limit=" + limit.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The whole body, at most the ADD limit: a Content-Length over it is refused before anything is read, and a chunked
    /// body is cut off as soon as it passes it (TOOLARGE, 413). Either way the rest of the body is unread, so the reply
    /// says <c>Connection: close</c>: a client must not send its next request on a connection the server may close
    /// instead of draining (seen as "response ended prematurely" on the next request).
    /// </summary>
    internal async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > maxAppendBytes)
        {
            throw TooLarge(context);
        }

        PipeReader reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                if (read.Buffer.Length > maxAppendBytes)
                {
                    throw TooLarge(context);
                }

                if (read.IsCompleted)
                {
                    var body = read.Buffer.ToArray();
                    reader.AdvanceTo(read.Buffer.End);
                    return body;
                }

                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(context);
        }
    }

    private CommandException TooLarge(HttpContext context)
    {
        context.Response.Headers.Connection = "close";
        return CommandException.TooLarge($"ADD is over the {maxAppendBytes} byte limit");
    }
}
