using System.Collections.Concurrent;
using FASTER.core;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Group commit. The writer adds enqueued entries and signals; each wake-up issues one FasterLog commit
/// that covers everything enqueued so far, waits until it is durable past the last entry's end
/// address, applies the covered entries to the committed state in log order and completes their
/// appends. Appends that arrive meanwhile share the next commit.
/// In relaxed mode (a flush interval is set) the writer acknowledged appends already and the committer
/// wakes on a timer instead: the covered entries are still applied (made readable) only once durable.
/// </summary>
internal sealed class Committer
{
    private static readonly TimeSpan CommitStallRetry = TimeSpan.FromSeconds(1);

    private readonly FasterLog _log;
    private readonly CommittedState _state;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<PendingEntry> _queue = new();
    private readonly WakeSignal _signal = new();
    private readonly List<PendingEntry> _batch = [];
    private readonly TimeSpan? _flushInterval;
    private long _lastEnqueuedEnd;
    private Exception? _fault;

    public Committer(FasterLog log, CommittedState state, ILogger logger, TimeSpan? flushInterval = null)
    {
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

    /// <summary>Set once a commit failed; the store then rejects appends.</summary>
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

    public void SetFault(Exception exception)
    {
        Interlocked.CompareExchange(ref _fault, exception, null);
        FailQueued(exception);
    }

    public async Task RunAsync()
    {
        try
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
        catch (Exception ex)
        {
            _logger.Error(ex, "Log commit failed at applied address {Address}; the store accepts no more appends", _state.AppliedEnd);
            SetFault(ex);
        }
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
        if (Fault is not null)
        {
            return;
        }

        long target = Volatile.Read(ref _lastEnqueuedEnd);
        if (target <= _state.AppliedEnd)
        {
            return;
        }

        _log.Commit(spinWait: false);
        CommitCount++;
        while (true)
        {
            try
            {
                // commitNum 0: wait on the address only. The default (-1) also waits for the newest commit number,
                // which a commit filtered as redundant never persists, stalling the wait.
                await _log.WaitForCommitAsync(target, commitNum: 0).AsTask().WaitAsync(CommitStallRetry).ConfigureAwait(false);
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
    }

    private void Apply(long committedUntil)
    {
        _batch.Clear();
        lock (_state.ApplyLock)
        {
            while (_queue.TryPeek(out var entry) && entry.End <= committedUntil)
            {
                _queue.TryDequeue(out _);
                _state.Apply(entry.Summary, entry.Address, entry.End, entry.Stream);
                _batch.Add(entry);
            }

            _state.Publish();
        }

        foreach (var entry in _batch)
        {
            Applied?.Invoke(entry);
            entry.Completion?.TrySetResult(entry.Result!);
        }

        BatchApplied?.Invoke(_state.AppliedEnd);
    }

    private void FailQueued(Exception exception)
    {
        while (_queue.TryDequeue(out var entry))
        {
            entry.Completion?.TrySetException(new InvalidOperationException("The append was not committed.", exception));
        }

        _state.Notifier.Publish();
    }
}
