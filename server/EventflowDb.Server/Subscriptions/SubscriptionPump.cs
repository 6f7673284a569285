using EventflowDb.Server.Network;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Subscriptions;

/// <summary>
/// Delivers a connection's subscriptions. Each subscription keeps a cursor (the last event examined); the
/// pump reads committed events after each cursor from the log, writes them as message frames between the
/// connection's requests (under the session's write lock), and sleeps on the store's commit notification
/// when every cursor is at the end. Catch-up (FOLLOW) and live delivery are therefore the same code, nothing
/// is buffered per subscriber beyond the socket's send pipe, and a slow reader only delays its own pump
/// while writers and other connections go on.
/// <para>
/// Output is bounded twice: a round writes at most <see cref="RoundBytes"/> (at least one event), and no round
/// starts while the client's unsent output is at or over the pump window (<see cref="OutputAccounting.PumpWindow"/>,
/// the pubsub soft limit): the pump then waits, without the write lock, until the client has read some (the
/// events stay in the log, the cursor says where to resume). A client that reads nothing stays over its soft limit
/// and is disconnected after the soft seconds; it resumes with FOLLOW and loses nothing stored.
/// </para>
/// </summary>
internal sealed class SubscriptionPump
{
    private const int PageEvents = 256;
    private const int ScanPerRound = 4096;

    /// <summary>Most bytes one round writes before it flushes (a round always writes at least one event).</summary>
    private const int RoundBytes = 256 * 1024;

    private const int MaxDrainPollMs = 50;

    private readonly ClientSession _session;
    // Keyed by kind and name so that adding or removing one is O(1): one SUBSCRIBE may name thousands of channels.
    private readonly Dictionary<(bool IsPattern, string Name), Subscription> _subscriptions = [];
    private readonly EventPage _page = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _running = Task.CompletedTask;

    public SubscriptionPump(ClientSession session) => _session = session;

    /// <summary>Adds (or, with <paramref name="replace"/>, restarts) a subscription; call under the session's write lock.</summary>
    public void Add(string name, bool isPattern, IEventFilter? filter, Ulid cursor, bool replace)
    {
        if (!replace && _subscriptions.ContainsKey((isPattern, name)))
        {
            return;
        }

        _subscriptions[(isPattern, name)] = new Subscription(name, isPattern, filter, cursor);

        if (_running.IsCompleted)
        {
            _running = Task.Run(RunAsync);
        }

        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Removes a subscription; call under the session's write lock.</summary>
    public void Remove(string name, bool isPattern) => _subscriptions.Remove((isPattern, name));

    /// <summary>Completes once the pump has stopped (after the session's closing token is cancelled).</summary>
    public Task Completion => _running;

    private async Task RunAsync()
    {
        var closing = _session.Closing;
        var store = _session.Store;
        long window = OutputAccounting.PumpWindow(_session.Server.Options);
        try
        {
            while (!closing.IsCancellationRequested)
            {
                if (!await WaitForRoomAsync(window, closing).ConfigureAwait(false))
                {
                    return;
                }

                // Both are taken before reading so that a commit or a new subscription during the round wakes the next wait.
                Ulid seen = store.Checksum.LastId;
                var changed = Volatile.Read(ref _changed).Task;
                bool progressed;
                await _session.WriteLock.WaitAsync(closing).ConfigureAwait(false);
                try
                {
                    progressed = await DeliverRoundAsync(store, closing).ConfigureAwait(false);
                }
                finally
                {
                    _session.WriteLock.Release();
                }

                if (!progressed)
                {
                    await Task.WhenAny(store.WaitForCommitAfterAsync(seen, Timeout.InfiniteTimeSpan, closing).AsTask(), changed).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (ClientSession.IsDisconnect(e) || e is InvalidOperationException)
        {
            _session.Server.Logger.Debug(e, "Subscription delivery of connection {ClientId} stopped", _session.Id);
        }
        catch (Exception e)
        {
            _session.Server.Logger.Error(e, "Subscription delivery of connection {ClientId} failed", _session.Id);
        }
    }

    /// <summary>
    /// Waits while the client's unsent output is at or over <paramref name="window"/>, checking its output limits as it
    /// waits (polling from 1 to 50 ms: only a connection that is behind waits here). False once the client is disconnected.
    /// </summary>
    private async ValueTask<bool> WaitForRoomAsync(long window, CancellationToken closing)
    {
        int pollMs = 1;
        while (true)
        {
            if (!_session.WithinOutputLimits())
            {
                return false;
            }

            if (_session.UnsentBytes < window)
            {
                return true;
            }

            await Task.Delay(pollMs, closing).ConfigureAwait(false);
            pollMs = Math.Min(pollMs * 2, MaxDrainPollMs);
        }
    }

    /// <summary>One page per subscription, at most <see cref="RoundBytes"/> in all; true when any cursor moved. Runs under the write lock.</summary>
    private async ValueTask<bool> DeliverRoundAsync(IEventStore store, CancellationToken closing)
    {
        bool progressed = false;
        bool wrote = false;
        var writer = _session.Writer;
        var output = _session.Output;
        long written = 0; // event bytes this round (frames add their small headers)
        foreach (var subscription in _subscriptions.Values)
        {
            if (subscription.Filter is null)
            {
                continue;
            }

            if (wrote && written >= RoundBytes)
            {
                // The rest next round (the cursors say where), after a flush and a look at the client's output.
                progressed = true;
                break;
            }

            _page.ByteLimit = Math.Max(1, RoundBytes - written);
            var progress = await store.ReadAllAsync(subscription.Cursor, PageEvents, _page, subscription.Filter, ScanPerRound, closing).ConfigureAwait(false);
            for (int i = 0; i < _page.Count; i++)
            {
                wrote |= MessageFrames.Write(writer, subscription, _page[i]);
            }

            written += _page.Bytes;

            if (progress.Scanned > 0)
            {
                subscription.Cursor = progress.LastScanned;
                progressed = true;
            }
        }

        if (wrote)
        {
            if (!_session.WithinOutputLimits(output.CanGetUnflushedBytes ? output.UnflushedBytes : 0))
            {
                throw new OperationCanceledException("client-output-buffer-limit");
            }

            // Does not wait: the send pipe pauses only above every output limit (see OutputAccounting).
            var result = await output.FlushAsync(closing).ConfigureAwait(false);
            if (result.IsCanceled || result.IsCompleted)
            {
                throw new OperationCanceledException("connection closed");
            }
        }

        return progressed;
    }
}
