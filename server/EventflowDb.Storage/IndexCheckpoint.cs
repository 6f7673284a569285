using System.Diagnostics;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Periodic checkpoint of everything derived from the log, so a restart replays only the tail:
/// 1. under the apply lock, capture the committed state at address C (a few ms even for a million streams);
/// 2. checkpoint the event index (it already holds every key below C, and maybe more, which replay
///    re-upserts with the same values);
/// 3. write snapshot.bin atomically with C, the counters, the checksum chain, the stream table, the sparse
///    id index and the index tokens;
/// 4. delete index checkpoints the new snapshot no longer needs.
/// A checkpoint any of whose files failed to write is deleted and the previous one stays in use (FASTER itself
/// ignores failed checkpoint writes). While the store is read-only no checkpoint is taken: the index may hold keys of
/// appends that never became durable.
/// </summary>
internal sealed class IndexCheckpoint : IDisposable
{
    private readonly CommittedState _state;
    private readonly EventIndex _index;
    private readonly string _snapshotPath;
    private readonly uint _epoch;
    private readonly StoreOptions _options;
    private readonly ILogger _logger;
    private readonly Func<long> _logTail;
    private readonly DeviceMonitor _monitor;
    private readonly StoreStatistics _statistics;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _lastCovered;
    private long _taken;
    private long _fullCounter;
    private Guid _indexToken;
    private bool _controlRecordsMarked;
    private long _eventCountEstimate;
    private long _streamCountEstimate;

    /// <param name="logTail">The log's tail address: read when the index checkpoint completes, an upper bound of what it indexes.</param>
    public IndexCheckpoint(CommittedState state, EventIndex index, string snapshotPath, uint epoch, Guid recoveredIndexToken, StoreOptions options, Func<long> logTail, DeviceMonitor monitor, StoreStatistics statistics, ILogger logger)
    {
        _statistics = statistics;
        _monitor = monitor;
        _logTail = logTail;
        // A recovered hash-index checkpoint can serve later log-only checkpoints: full ones are slow.
        _indexToken = recoveredIndexToken;
        _fullCounter = recoveredIndexToken == Guid.Empty ? 0 : 1;
        _state = state;
        _index = index;
        _snapshotPath = snapshotPath;
        _epoch = epoch;
        _options = options;
        _logger = logger;
        _lastCovered = state.AppliedEnd;
        _eventCountEstimate = state.EventCount - state.HiddenEvents;
        _streamCountEstimate = state.StreamCount - state.DeletedStreams;
    }

    public long EventCountEstimate => Volatile.Read(ref _eventCountEstimate);

    public long StreamCountEstimate => Volatile.Read(ref _streamCountEstimate);

    /// <summary>Checkpoints taken by this instance.</summary>
    public long Taken => Volatile.Read(ref _taken);

    /// <summary>Checkpoints every interval while the log moves on; stops when <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunPeriodicAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.CheckpointInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await TakeAsync(force: false, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreReadOnlyException)
                {
                    // Logged once when the store went read-only; checkpoints stop until restart.
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.Error(ex, "Checkpoint failed; the previous one stays in use");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Takes a checkpoint when anything was committed since the last one (or always, when forced).</summary>
    public async Task<bool> TakeAsync(bool force, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_monitor.ReadOnlyReason is not null)
            {
                return false;
            }

            var watch = Stopwatch.StartNew();
            CheckpointCapture capture;
            lock (_state.ApplyLock)
            {
                if (!force && _state.AppliedEnd == Volatile.Read(ref _lastCovered))
                {
                    return false;
                }

                long streamCount = _state.StreamCount;
                var counts = new long[streamCount];
                var updated = new long[streamCount];
                var lifecycles = new StreamLifecycle?[streamCount];
                for (long i = 0; i < streamCount; i++)
                {
                    var stream = _state.Streams[i];
                    counts[i] = stream.Count;
                    updated[i] = stream.UpdatedMs;
                    lifecycles[i] = stream.Lifecycle;
                }

                capture = new CheckpointCapture
                {
                    CoveredAddress = _state.AppliedEnd,
                    EventCount = _state.EventCount,
                    EntryCount = _state.EntryCount,
                    LastId = _state.LastId,
                    Hash = _state.Hash,
                    Epoch = _epoch,
                    StreamCounts = counts,
                    StreamUpdated = updated,
                    SparseCount = _state.Sparse.Count,
                    Lifecycles = lifecycles,
                    HiddenEvents = _state.HiddenEvents,
                    DeletedStreams = _state.DeletedStreams,
                };
            }

            var captureTime = watch.Elapsed;
            bool full = _indexToken == Guid.Empty || _fullCounter++ % Math.Max(1, _options.FullIndexCheckpointEvery) == 0;
            long writeFailures = _monitor.CheckpointWriteFailures;
            var (logToken, success) = await _index.CheckpointAsync(full, cancellationToken).ConfigureAwait(false);
            long indexUpper = _logTail();
            if (!success)
            {
                _logger.Warning("Index checkpoint did not complete; keeping the previous checkpoint");
                return false;
            }

            if (_monitor.CheckpointWriteFailures != writeFailures || _monitor.ReadOnlyReason is not null)
            {
                _logger.Warning("Index checkpoint {Token} was not fully written; deleted, the previous checkpoint stays in use", logToken);
                _index.PurgeCheckpoint(logToken);
                return false;
            }

            var indexToken = full ? logToken : _indexToken;
            if (!_controlRecordsMarked && Array.Exists(capture.Lifecycles, l => l is not null))
            {
                // The log holds control records: store.meta says so before a snapshot of them exists, so that no older
                // build replays the log (it would cut a control record as a torn tail). The open also marks it.
                string metaPath = Path.Combine(Path.GetDirectoryName(_snapshotPath)!, StoreOpener.MetaFileName);
                await Task.Run(() => StoreMetaFile.AddFeatures(metaPath, StoreFeatures.ControlRecords), cancellationToken).ConfigureAwait(false);
                _controlRecordsMarked = true;
            }

            try
            {
                await Task.Run(() => StoreSnapshot.Write(_snapshotPath, capture, _state.Streams, _state.Sparse, indexToken, logToken, indexUpper), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // snapshot.bin still names the previous checkpoint (written atomically): this one is of no use.
                _index.PurgeCheckpoint(logToken);
                throw;
            }

            _indexToken = indexToken;
            _index.PurgeCheckpointsExcept(indexToken, logToken);

            Volatile.Write(ref _lastCovered, capture.CoveredAddress);
            Volatile.Write(ref _eventCountEstimate, capture.EventCount - capture.HiddenEvents);
            Volatile.Write(ref _streamCountEstimate, capture.StreamCounts.LongLength - capture.DeletedStreams);
            Interlocked.Increment(ref _taken);
            _statistics.RecordCheckpoint();
            _logger.Information(
                "Checkpoint taken: covered address {Address}, {Events} events, {Streams} streams, {Kind} index checkpoint, {Ms} ms (capture {CaptureMs} ms)",
                capture.CoveredAddress,
                capture.EventCount,
                capture.StreamCounts.LongLength,
                full ? "full" : "log-only",
                watch.ElapsedMilliseconds,
                (long)captureTime.TotalMilliseconds);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Holds checkpoints off until the returned handle is disposed: snapshot.bin and the index checkpoint files it names stay as they are (BACKUP copies them).</summary>
    public async Task<IDisposable> PauseAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Release(_gate);
    }

    public void Dispose() => _gate.Dispose();

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
