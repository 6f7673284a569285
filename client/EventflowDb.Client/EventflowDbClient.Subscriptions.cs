using System.Runtime.CompilerServices;
using NUlid;
using StackExchange.Redis;

namespace EventflowDb.Client;

public sealed partial class EventflowDbClient
{
    /// <summary>How long one long-poll read waits on the server for new events before it is sent again.</summary>
    internal const int SubscriptionBlockMilliseconds = 5_000;

    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Follows a channel: delivers, in log order, the channel's events after <paramref name="from"/> (history first, as fast
    /// as the server pages it), then every new event as soon as it is committed, until the enumeration is cancelled or
    /// abandoned. Each event is delivered exactly once, with no gap, also across connection drops and server restarts.
    /// </summary>
    /// <remarks>
    /// <para><b>How it works.</b> Each enumeration opens its own connection (a second StackExchange.Redis multiplexer with
    /// this client's settings, so that waiting reads never hold up the client's other commands) and sends long-poll reads
    /// <c>GETALL {"offset": last, "limit", "channel", "block": 5000}</c> in a loop, where <c>last</c> is the id of the last
    /// event delivered. History and live events come through the same loop, so there is no switch-over where an event could
    /// be missed or repeated, and only committed (durable) events are delivered.</para>
    /// <para><b>Resuming.</b> When the connection drops or the server restarts (even after <c>kill -9</c>), the enumeration does
    /// not fail: it waits (up to one second between attempts) until the connection is back and reads on from <c>last</c>.
    /// It fails only on a server error reply (for example an unknown channel prefix), a failed authentication, or when the
    /// client is disposed. To resume in another process later, store the <see cref="RecordedEvent.Id"/> of the last event
    /// handled and pass it as <paramref name="from"/>.</para>
    /// <para><b>Filtered channels.</b> The server examines at most 100,000 events per filtered read; after such a stretch of
    /// other events the client reads on unfiltered and filters itself, so a rare channel never stalls.</para>
    /// <para>The enumeration is lazy: nothing is sent until the first <c>MoveNextAsync</c>, and every enumeration of the
    /// returned sequence is a new, independent subscription.</para>
    /// </remarks>
    /// <param name="channel">
    /// What to follow: <see cref="Channels.All"/> (<c>$all</c>), <see cref="Channels.Stream"/> (<c>stream:&lt;name&gt;</c>),
    /// <see cref="Channels.Category"/> (<c>category:&lt;category&gt;</c>) or <see cref="Channels.Type"/> (<c>type:&lt;event type&gt;</c>).
    /// </param>
    /// <param name="from">
    /// The id of the last event already seen: the events with a greater id are delivered (any ULID works, stored or not).
    /// <see cref="Ulid.Empty"/>: from the start of the log. <c>null</c>: <b>from now</b>, i.e. only events committed after the
    /// enumeration started: the subscription asks the server for its last event id (CHECKSUM) on the first
    /// <c>MoveNextAsync</c> and delivers the events after it; an event committed before that reply is not delivered.
    /// </param>
    /// <param name="cancellationToken">Ends the enumeration with an <see cref="OperationCanceledException"/> (also settable with <c>WithCancellation</c>); a wait in progress is abandoned at once.</param>
    /// <returns>The channel's events, in log order, without end.</returns>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is not one of the channel forms above.</exception>
    public IAsyncEnumerable<RecordedEvent> SubscribeAsync(string channel, Ulid? from = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        var filter = Channels.Filter(channel)
            ?? throw new ArgumentException("A channel is $all, stream:<name>, category:<category> or type:<event type>.", nameof(channel));
        ThrowIfDisposed();
        return SubscribeCoreAsync(channel == Channels.All ? null : channel, filter, from, cancellationToken);
    }

    private async IAsyncEnumerable<RecordedEvent> SubscribeCoreAsync(
        string? channel, Func<RecordedEvent, bool> filter, Ulid? from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await OpenSubscriptionConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var database = connection.GetDatabase();
            Ulid last = from ?? await LastEventIdAsync(database, cancellationToken).ConfigureAwait(false);
            int limit = PageSizeOrDefault(0);
            while (true)
            {
                var reply = await PollAsync(database, "GETALL", [WireFormat.GetAllRequest(last, limit, channel, SubscriptionBlockMilliseconds)], cancellationToken).ConfigureAwait(false);
                var page = Events(reply, "GETALL");
                Ulid examinedUpTo = last;
                if (page.Count == 0 && channel is not null)
                {
                    // An empty filtered page can also mean "100,000 other events examined": read on unfiltered and filter here.
                    var scan = await PollAsync(database, "GETALL", [WireFormat.GetAllRequest(last, limit)], cancellationToken).ConfigureAwait(false);
                    var scanned = Events(scan, "GETALL");
                    if (scanned.Count > 0)
                    {
                        examinedUpTo = scanned[^1].Id;
                        page = scanned.FindAll(e => filter(e));
                    }
                }

                foreach (var e in page)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return e;
                    last = e.Id;
                }

                if (examinedUpTo.CompareTo(last) > 0)
                {
                    last = examinedUpTo;
                }
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The id of the store's last event (CHECKSUM), the start of a subscription "from now".</summary>
    private async Task<Ulid> LastEventIdAsync(IDatabase database, CancellationToken cancellationToken)
    {
        var items = Array(await PollAsync(database, "CHECKSUM", NoArguments, cancellationToken).ConfigureAwait(false), "CHECKSUM", 2);
        string id = Text(items[0], "CHECKSUM");
        return Ulid.TryParse(id, out var lastId) ? lastId : throw WireFormat.Malformed($"CHECKSUM [{id}, ...]", null);
    }

    /// <summary>A multiplexer of its own for one subscription, with a reply time-out longer than the long-poll wait.</summary>
    private async Task<ConnectionMultiplexer> OpenSubscriptionConnectionAsync(CancellationToken cancellationToken)
    {
        var configuration = _configuration.Clone();
        configuration.AbortOnConnectFail = false; // a server that is down now is waited for, as after a drop
        configuration.AsyncTimeout = Math.Max(configuration.AsyncTimeout, SubscriptionBlockMilliseconds + 10_000);
        var connecting = ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            return await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !connecting.IsCompleted)
        {
            _ = connecting.ContinueWith(
                static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        t.Result.Dispose();
                    }
                    else
                    {
                        _ = t.Exception;
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw new EventflowDbConnectionException($"Could not open the subscription's connection: {e.Message}", e);
        }
    }

    /// <summary>
    /// Sends one command of a subscription, repeating it after connection failures and time-outs until the connection is
    /// back (or the token is cancelled, or the client disposed). Server errors become typed exceptions.
    /// </summary>
    private Task<RedisResult> PollAsync(IDatabase database, string command, object[] arguments, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        return SendAsync(database, command, arguments, null, "the subscription's connection", false, async (_, _) =>
        {
            // The multiplexer reconnects in the background; ask again shortly.
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            return true;
        }, cancellationToken);
    }
}
