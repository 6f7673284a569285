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
/// (the flush waits) while writers and other connections go on.
/// </summary>
internal sealed class SubscriptionPump
{
    private const int PageEvents = 256;
    private const int ScanPerRound = 4096;

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
        try
        {
            while (!closing.IsCancellationRequested)
            {
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
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            _session.Server.Logger.Debug(e, "Subscription delivery of connection {ClientId} stopped", _session.Id);
        }
        catch (Exception e)
        {
            _session.Server.Logger.Error(e, "Subscription delivery of connection {ClientId} failed", _session.Id);
        }
    }

    /// <summary>One page per subscription; true when any cursor moved. Runs under the write lock.</summary>
    private async ValueTask<bool> DeliverRoundAsync(IEventStore store, CancellationToken closing)
    {
        bool progressed = false;
        bool wrote = false;
        var writer = _session.Writer;
        foreach (var subscription in _subscriptions.Values)
        {
            if (subscription.Filter is null)
            {
                continue;
            }

            var progress = await store.ReadAllAsync(subscription.Cursor, PageEvents, _page, subscription.Filter, ScanPerRound, closing).ConfigureAwait(false);
            for (int i = 0; i < _page.Count; i++)
            {
                wrote |= MessageFrames.Write(writer, subscription, _page[i]);
            }

            if (progress.Scanned > 0)
            {
                subscription.Cursor = progress.LastScanned;
                progressed = true;
            }
        }

        if (wrote)
        {
            // Waits while the client does not read (the send pipe is full): this is the only back-pressure, and it
            // holds back only this connection. The next round then resumes from the cursor, i.e. from the log.
            await _session.Output.FlushAsync(closing).ConfigureAwait(false);
        }

        return progressed;
    }
}
