using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;
using EventflowDb.Storage;
using Microsoft.AspNetCore.Http;
using NUlid;

namespace EventflowDb.Server.Http;

/// <summary>
/// <c>GET /subscribe?channel=&amp;from=</c>: FOLLOW as Server-Sent Events. Like <see cref="SubscriptionPump"/>, it keeps a
/// cursor and reads committed events after it from the log, so catch-up and live delivery are one loop: no gap and no
/// duplicate at the switch, nothing buffered for a slow reader beyond Kestrel's response buffer (its writes wait for
/// the client, writers never do). Each event is <c>id: &lt;event id&gt;</c> and its JSON in <c>data:</c> lines, so a
/// reconnecting <c>EventSource</c> sends <c>Last-Event-ID</c> and resumes right after the last event it got. While
/// nothing happens a comment line goes out every <c>heartbeat</c> seconds (15 by default) so that proxies keep the
/// connection; the stream ends (a complete response) when the client leaves or the server stops.
/// </summary>
internal sealed class SubscribeEndpoint(ServerHealth health, CancellationToken serverStopping)
{
    private const int PageEvents = 256;
    private const int ScanPerRound = 4096;
    private const int RoundBytes = 256 * 1024;
    private const int DefaultHeartbeatSeconds = 15;
    private const int MaxHeartbeatSeconds = 3600;

    public Task SubscribeAsync(HttpContext context) => ApiCall.RunAsync(context, health, ["FOLLOW"], async caller =>
    {
        string channel = ApiArguments.Text(context.Request, "channel") ?? EventChannels.All;
        var filter = EventChannels.Parse(channel);
        StreamPermissions.CheckChannel(caller, channel);
        string resume = context.Request.Headers["Last-Event-ID"].ToString();
        var cursor = Arguments.Offset(Encoding.UTF8.GetBytes(resume.Length > 0 ? resume.Trim() : ApiArguments.Text(context.Request, "from") ?? ""));
        long heartbeatSeconds = ApiArguments.NonNegative(context.Request, "heartbeat");
        if (heartbeatSeconds > MaxHeartbeatSeconds)
        {
            throw CommandException.Invalid($"heartbeat is over {MaxHeartbeatSeconds} seconds");
        }

        var heartbeat = TimeSpan.FromSeconds(heartbeatSeconds == 0 ? DefaultHeartbeatSeconds : heartbeatSeconds);
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events on at once
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, serverStopping);
        var server = caller.Server;
        server.Logger.Debug("HTTP subscription to {Channel} from {Cursor} by {Remote}", channel, cursor, context.Connection.RemoteIpAddress);
        try
        {
            // A first comment sends the headers, so the client knows at once that it is subscribed.
            response.BodyWriter.Write(": subscribed\n\n"u8);
            await response.BodyWriter.FlushAsync(ending.Token).ConfigureAwait(false);
            var user = caller.User;
            await DeliverAsync(server.Store, response.BodyWriter, ReadRightsFilter.Live(user, filter)!, cursor, heartbeat, () => server.Access.Find(user.Name) == user, ending.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ending.IsCancellationRequested)
        {
            // The client left or the server stops: the response ends here, complete.
        }

        server.Logger.Debug("HTTP subscription to {Channel} by {Remote} ended", channel, context.Connection.RemoteIpAddress);
    });

    /// <summary>
    /// Delivers until the client leaves, the server stops or the user is deleted (<paramref name="userExists"/> turns
    /// false: ACL DELUSER or ACL LOAD without it, which closes a RESP user's connections too).
    /// </summary>
    private static async Task DeliverAsync(IEventStore store, PipeWriter body, IEventFilter filter, Ulid cursor, TimeSpan heartbeat, Func<bool> userExists, CancellationToken ending)
    {
        var page = new EventPage { ByteLimit = RoundBytes };
        while (!ending.IsCancellationRequested && userExists())
        {
            // Taken before the read: a commit during it makes the wait below return at once.
            Ulid seen = store.Checksum.LastId;
            var progress = await store.ReadAllAsync(cursor, PageEvents, page, filter, ScanPerRound, ending).ConfigureAwait(false);
            for (int i = 0; i < page.Count; i++)
            {
                WriteEvent(body, page[i]);
            }

            if (page.Count > 0)
            {
                var flushed = await body.FlushAsync(ending).ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }
            }

            if (progress.Scanned > 0)
            {
                cursor = progress.LastScanned;
                continue;
            }

            if (!await store.WaitForCommitAfterAsync(seen, heartbeat, ending).ConfigureAwait(false) && !ending.IsCancellationRequested)
            {
                body.Write(": heartbeat\n\n"u8);
                await body.FlushAsync(ending).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One event: <c>id:</c> its id, then its JSON as <c>data:</c> lines. The JSON is one line unless the client sent
    /// data or metadata with line breaks (whitespace of JSON); those split it into several <c>data:</c> lines, which the
    /// client joins with '\n' (so a "\r\n" in such whitespace arrives as "\n").
    /// </summary>
    private static void WriteEvent(PipeWriter body, ReadOnlySpan<byte> json)
    {
        string? id = Http.JsonPages.StringField(json, "id"u8);
        if (id is not null)
        {
            body.Write("id: "u8);
            body.Write(Encoding.ASCII.GetBytes(id));
            body.Write("\n"u8);
        }

        while (true)
        {
            int end = json.IndexOfAny((byte)'\n', (byte)'\r');
            body.Write("data: "u8);
            body.Write(end < 0 ? json : json[..end]);
            body.Write("\n"u8);
            if (end < 0)
            {
                break;
            }

            int skip = json[end] == (byte)'\r' && end + 1 < json.Length && json[end + 1] == (byte)'\n' ? 2 : 1;
            json = json[(end + skip)..];
        }

        body.Write("\n"u8);
    }
}
