using System.Collections.Concurrent;
using System.Diagnostics;
using FASTER.core;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Group commit. The writer adds enqueued entries and signals; each wake-up issues one FasterLog commit
/// that covers everything enqueued so far, waits until it is durable past the last entry's end
/// address, applies the covered entries to the committed state in log order and completes their
/// appends. Appends that arrive meanwhile share the next commit.
/// A failed commit (a failed log write makes FasterLog's commit fail, or never complete) puts the store into
/// read-only mode: what is durable is still acknowledged, every other queued append fails with
/// <see cref="StoreReadOnlyException"/>. Only the committer dequeues, so that failing and applying never race.
/// In relaxed mode (a flush interval is set) the writer acknowledged appends already and the committer
/// wakes on a timer instead: the covered entries are still applied (made readable) only once durable.
/// </summary>
internal sealed class Committer
{
    private static readonly TimeSpan CommitStallRetry = TimeSpan.FromSeconds(1);

    private readonly FasterLog _log;
    private readonly CommittedState _state;
    private readonly ILogger _logger;
    private readonly DeviceMonitor _monitor;
    private readonly StoreStatistics _statistics;
    private readonly ConcurrentQueue<PendingEntry> _queue = new();
    private readonly WakeSignal _signal = new();
    private readonly List<PendingEntry> _batch = [];
    private readonly TimeSpan? _flushInterval;
    private long _lastEnqueuedEnd;
    private Exception? _fault;

    public Committer(FasterLog log, CommittedState state, ILogger logger, DeviceMonitor monitor, StoreStatistics statistics, TimeSpan? flushInterval = null)
    {
        _statistics = statistics;
        _monitor = monitor;
        _flushInterval = flushInterval;
        _log = log;
        _state = state;
        _logger = logger;
        _lastEnqueuedEnd = state.AppliedEnd;
    }

    /// <summary>Raised (on the committer) for each applied entry, before its append completes.</summary>
    public event Action<PendingEntry>? Applied;

    /// <summary>Raised after each applied batch with the applied end address (segment prefill, metrics).</summary>
    public event Action<long>? BatchApplied;

    /// <summary>Set once a commit failed or the store went read-only; the store then rejects appends.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Number of FasterLog commits issued (tests, metrics).</summary>
    public long CommitCount { get; private set; }

    public void Add(PendingEntry entry)
    {
        _queue.Enqueue(entry);
        Volatile.Write(ref _lastEnqueuedEnd, entry.End);
        if (_flushInterval is null)
        {
            Signal();
        }

        // Relaxed durability: the writer acknowledged already; the timer commits within the flush interval.
    }

    public void Signal() => _signal.Set();

    /// <summary>Finishes after committing what was added before this call.</summary>
    public void Complete() => _signal.Complete();

    /// <summary>Stops committing; the committer fails what is queued (from any thread: it wakes the committer).</summary>
    public void SetFault(Exception exception)
    {
        Interlocked.CompareExchange(ref _fault, exception, null);
        Signal();
    }

    /// <summary>Commits until <see cref="Complete"/>; after a failure it keeps running, to fail what is still queued.</summary>
    public async Task RunAsync()
    {
        if (_flushInterval is { } interval)
        {
            await RunTimedAsync(interval).ConfigureAwait(false);
        }
        else
        {
            while (!_signal.IsCompleted)
            {
                await _signal.WaitAsync().ConfigureAwait(false);
                await CommitOnceAsync().ConfigureAwait(false);
            }
        }

        await CommitOnceAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Relaxed mode: one commit per flush interval until <see cref="Complete"/>, and one sooner when signalled
    /// (the writer signals only when the in-memory log is full: its pages can be reused only once flushed,
    /// so waiting for the timer would throttle appends to one log buffer per interval).
    /// </summary>
    private async Task RunTimedAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        var tick = timer.WaitForNextTickAsync().AsTask();
        var wake = _signal.WaitAsync().AsTask();
        while (true)
        {
            await Task.WhenAny(tick, wake).ConfigureAwait(false);
            if (_signal.IsCompleted)
            {
                return;
            }

            if (tick.IsCompleted)
            {
                tick = timer.WaitForNextTickAsync().AsTask();
            }

            if (wake.IsCompleted)
            {
                wake = _signal.WaitAsync().AsTask();
            }

            await CommitOnceAsync().ConfigureAwait(false);
        }
    }

    private async Task CommitOnceAsync()
    {
        if (Fault is null && _monitor.ReadOnlyReason is { } reason)
        {
            // Read-only since the last commit (a failed index write, say): what is queued may never be durable.
            Interlocked.CompareExchange(ref _fault, new StoreReadOnlyException(reason), null);
        }

        if (Fault is not null)
        {
            FailQueued();
            return;
        }

        try
        {
            await CommitQueuedAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The device usually said what failed (ENOSPC, EIO, which segment); else the commit's own error is the reason.
            if (ex is not StoreReadOnlyException)
            {
                _logger.Warning(ex, "Log commit failed at applied address {Address}", _state.AppliedEnd);
            }

            _monitor.EnterReadOnly($"the event log commit failed ({ex.Message})");
            Interlocked.CompareExchange(ref _fault, ex, null);
            ApplyDurable();
            FailQueued();
        }
    }

    private async Task CommitQueuedAsync()
    {
        long target = Volatile.Read(ref _lastEnqueuedEnd);
        if (target <= _state.AppliedEnd)
        {
            return;
        }

        long started = Stopwatch.GetTimestamp();
        _log.Commit(spinWait: false);
        CommitCount++;
        _statistics.RecordCommitCount();
        while (true)
        {
            try
            {
                // commitNum 0: wait on the address only. The default (-1) also waits for the newest commit number,
                // which a commit filtered as redundant never persists, stalling the wait.
                var commit = _log.WaitForCommitAsync(target, commitNum: 0);
                if (!commit.IsCompletedSuccessfully)
                {
                    // A failed write may leave the commit waiting for ever: read-only mode ends the wait.
                    var committed = commit.AsTask();
                    await Task.WhenAny(committed, _monitor.ReadOnlyEntered).WaitAsync(CommitStallRetry).ConfigureAwait(false);
                    if (!committed.IsCompleted)
                    {
                        throw new StoreReadOnlyException(_monitor.ReadOnlyReason!);
                    }

                    await committed.ConfigureAwait(false);
                }

                break;
            }
            catch (TimeoutException)
            {
                // Backstop against a dropped commit request: ask again rather than hang.
                _logger.Warning("Commit to {Target} not durable after {Seconds} s (committed until {Committed}); committing again", target, CommitStallRetry.TotalSeconds, _log.CommittedUntilAddress);
                _log.Commit(spinWait: false);
            }
        }

        Apply(_log.CommittedUntilAddress);
        _statistics.RecordCommitDuration(started);
    }

    private void Apply(long committedUntil)
    {
        _batch.Clear();
        long events = 0;
        long bytes = 0;
        lock (_state.ApplyLock)
        {
            while (_queue.TryPeek(out var entry) && entry.End <= committedUntil)
            {
                _queue.TryDequeue(out _);
                if (entry.Change is { } change)
                {
                    _state.ApplyControl(change, entry.Address, entry.End, entry.Stream);
                }
                else
                {
                    _state.Apply(entry.Summary, entry.Address, entry.End, entry.Stream);
                }

                _batch.Add(entry);
                events += entry.Summary.EventCount;
                bytes += entry.End - entry.Address;
            }

            _state.Publish();
        }

        _statistics.RecordApplied(_batch.Count, events, bytes);

        foreach (var entry in _batch)
        {
            Applied?.Invoke(entry);
            entry.Completion?.TrySetResult(entry.Result!);
            entry.ControlCompletion?.TrySetResult(entry.ControlResult);
        }

        BatchApplied?.Invoke(_state.AppliedEnd);
    }

    /// <summary>Acknowledges the queued entries that are durable after all (a commit failed after an earlier one landed).</summary>
    private void ApplyDurable()
    {
        try
        {
            Apply(_log.CommittedUntilAddress);
        }
        catch (Exception ex)
        {
            _logger.Warning(ex, "Applying the durable part of the log after a failed commit failed");
        }
    }

    private void FailQueued()
    {
        string reason = _monitor.ReadOnlyReason ?? Fault?.Message ?? "the log commit failed";
        while (_queue.TryDequeue(out var entry))
        {
            entry.Completion?.TrySetException(new StoreReadOnlyException(reason, Fault));
            entry.ControlCompletion?.TrySetException(new StoreReadOnlyException(reason, Fault));
        }

        _state.Notifier.Publish();
    }
}
