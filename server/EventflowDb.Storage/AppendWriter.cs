using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// The writer. ADDs run one at a time, in arrival order, on whichever caller's thread finds the queue
/// unowned (no dedicated writer thread: each ADD would pay two thread hops for a few microseconds of
/// work, and no lock that other threads block on). One at a time, it checks
/// idempotency and the expected version against its own view (which includes enqueued, uncommitted
/// appends), assigns positions, versions, ids and the timestamp, renders each event's JSON once,
/// enqueues one FasterLog record per ADD, indexes it, and hands it to the <see cref="Committer"/>.
/// </summary>
internal sealed class AppendWriter
{
    // Appends processed by one drainer before it hands the role to a pool thread.
    private const int DrainBatch = 64;

    private readonly ConcurrentQueue<object> _queue = new(); // Operation or ControlOperation
    private readonly FasterLog _log;
    private readonly EventIndex _index;
    private readonly CommittedState _state;
    private readonly Committer _committer;
    private readonly LogEventReader _events;
    private readonly uint _epoch;
    private readonly Serilog.ILogger _logger;
    private readonly DeviceMonitor _monitor;
    private readonly int _maxEntryBytes;
    private readonly LogLayout _layout;
    private readonly bool _acknowledgeBeforeCommit;
    private readonly UlidGenerator _ids;
    private readonly ConcurrentDictionary<long, PendingEntry> _inFlightWithMessageIds = new();
    private readonly ByteBuffer _json = new(64 * 1024);
    private readonly ByteBuffer _common = new(1024); // the ADD's stream name as JSON, then its timestamp
    private readonly List<RenderedEvent> _rendered = [];
    private long _nextPosition;
    private ulong _pendingHash; // the checksum chain through the last enqueued entry
    private bool _completed;
    private bool _closed;
    private int _draining;

    public AppendWriter(FasterLog log, EventIndex index, CommittedState state, Committer committer, LogEventReader events, LogLayout layout, uint epoch, int maxEntryBytes, bool acknowledgeBeforeCommit, DeviceMonitor monitor, Serilog.ILogger logger)
    {
        _monitor = monitor;
        _layout = layout;
        _logger = logger;
        _log = log;
        _index = index;
        _state = state;
        _committer = committer;
        _events = events;
        _epoch = epoch;
        _maxEntryBytes = maxEntryBytes;
        _acknowledgeBeforeCommit = acknowledgeBeforeCommit;
        _ids = new UlidGenerator(state.LastId);
        _nextPosition = state.EventCount;
        _pendingHash = state.Hash;
        committer.Applied += entry =>
        {
            if (entry.HasMessageIds)
            {
                _inFlightWithMessageIds.TryRemove(entry.Address, out _);
            }
        };
    }

    /// <summary>
    /// Queues the append and, unless another thread is already draining the queue, drains it on this thread.
    /// Completes at once for rejections and in relaxed mode, otherwise when the commit covering the entry is
    /// durable.
    /// </summary>
    public ValueTask<AppendResult> SubmitAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Events.Count == 0)
        {
            throw new ArgumentException("An append needs at least one event.", nameof(request));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<AppendResult>(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _completed), this);
        var operation = new Operation(request);
        _queue.Enqueue(operation);
        TryDrain();
        return new ValueTask<AppendResult>(operation.Task);
    }

    /// <summary>Stops taking appends and waits until those queued are done.</summary>
    public async Task CompleteAsync()
    {
        Volatile.Write(ref _completed, true);
        while (Volatile.Read(ref _draining) != 0 || !_queue.IsEmpty)
        {
            TryDrain();
            await Task.Delay(1).ConfigureAwait(false);
        }

        // A submitter that passed the check above just before it was set is answered, not run against a closing log.
        Volatile.Write(ref _closed, true);
    }

    /// <summary>
    /// Becomes the drainer unless one is at work: whoever finds the queue unowned processes it, so an
    /// uncontended append runs on its own thread with no hand-off, and a busy writer never makes another
    /// thread block on a lock (a lock convoy on 2 cores starved the thread pool).
    /// </summary>
    private void TryDrain()
    {
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = DrainAsync(yieldAfter: DrainBatch);
        }
    }

    /// <summary>Entered as the drainer. Processes queued appends in order; an append waiting for room in the log keeps the role across the wait.</summary>
    private async Task DrainAsync(int yieldAfter)
    {
        while (true)
        {
            int processed = 0;
            while (_queue.TryDequeue(out var work))
            {
                if (work is ControlOperation control)
                {
                    await ProcessControlAsync(control).ConfigureAwait(false);
                }
                else
                {
                    await ProcessAsync((Operation)work).ConfigureAwait(false);
                }

                if (++processed == yieldAfter && !_queue.IsEmpty)
                {
                    // Let this connection go on with its own work; a pool thread keeps draining.
                    ThreadPool.UnsafeQueueUserWorkItem(static w => _ = w.DrainAsync(int.MaxValue), this, preferLocal: false);
                    return;
                }
            }

            // Give up the role, then look again: an append queued after the last dequeue found the role taken.
            Interlocked.Exchange(ref _draining, 0);
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private async ValueTask ProcessAsync(Operation operation)
    {
        var request = operation.Request;
        try
        {
            if (Refused(operation))
            {
                return;
            }

            CheckedAppend? checkedAppend;
            ValueTask<AppendResult> answered;
            try
            {
                checkedAppend = Check(request, out answered);
            }
            catch (IOException ex)
            {
                // A failed index read (the idempotency check): nothing was written, so only this append fails.
                operation.TrySetException(new IOException($"The append was not stored: {ex.Message}", ex));
                return;
            }

            if (checkedAppend is not { } append)
            {
                Forward(answered, operation);
                return;
            }

            var encoded = Encode(request, append);
            if (!_log.TryEnqueue(encoded.Bytes, out long address))
            {
                // The in-memory log is full until a flush completes: make sure one is under way, then wait for
                // room. Appends queue up meanwhile; no thread waits.
                _committer.Signal();
                address = await _log.EnqueueAsync(encoded.Bytes).ConfigureAwait(false);
            }

            Enqueued(operation, encoded, address);
        }
        catch (ArgumentException ex)
        {
            // Rejected before anything was enqueued: the store is unchanged.
            operation.TrySetException(ex);
        }
        catch (Exception ex)
        {
            operation.TrySetException(Fail(request, ex));
        }
    }

    /// <summary>Queues a lifecycle change; completes once its control record is durable, or at once when its check refuses it.</summary>
    public Task<LifecycleResult> SubmitControlAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<LifecycleResult>(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _completed), this);
        var operation = new ControlOperation(request);
        _queue.Enqueue(operation);
        TryDrain();
        return operation.Task;
    }

    private async ValueTask ProcessControlAsync(ControlOperation operation)
    {
        var request = operation.Request;
        try
        {
            if (Refused(operation))
            {
                return;
            }

            // Checked against the writer's view, which includes enqueued appends: the record lands after them in the log.
            _state.Streams.TryGet(request.Stream, out var stream);
            long count = stream?.PendingCount ?? 0;
            var status = stream is null || count == 0 ? LifecycleStatus.NoStream : request.Check(count);
            if (status != LifecycleStatus.Done)
            {
                operation.TrySetResult(new LifecycleResult(status, count));
                return;
            }

            long a = request.Kind is ControlKind.Delete or ControlKind.Forget ? count : request.A;
            long addedAt = request.AddedAt ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var name = Encoding.UTF8.GetBytes(request.Stream);
            var data = request.Data;
            if (request.Kind == ControlKind.Padding)
            {
                // To the end of the tail's page: the record fills it (or, when too little is left, starts the next one).
                int left = _layout.PageSize - _layout.OffsetInPage(_log.TailAddress);
                if (left == _layout.PageSize)
                {
                    operation.TrySetResult(new LifecycleResult(LifecycleStatus.Done, count));
                    return;
                }

                data = new byte[Math.Max(0, left - LogLayout.RecordHeaderSize - ControlRecordFormat.Size(name.Length, 0))];
            }

            int size = ControlRecordFormat.Size(name.Length, data.Length);
            if (size + LogLayout.RecordHeaderSize > _maxEntryBytes && request.Kind != ControlKind.Padding)
            {
                throw new ArgumentException($"The snapshot encodes to {size} bytes, over the {_maxEntryBytes}-byte limit.", nameof(operation));
            }

            var bytes = new byte[size];
            ControlRecordFormat.Write(bytes, _epoch, request.Kind, _nextPosition, stream!.Number, a, request.B, addedAt, name, data.Span);
            if (!_log.TryEnqueue(bytes, out long address))
            {
                _committer.Signal();
                address = await _log.EnqueueAsync(bytes).ConfigureAwait(false);
            }

            _logger.Debug("Lifecycle change {Kind} of stream {Stream} (value {Value}) enqueued at address {Address}", request.Kind, request.Stream, a, address);
            _committer.Add(new PendingEntry
            {
                Address = address,
                End = LogLayout.RecordEnd(address, bytes.Length),
                Bytes = null,
                Summary = new EntrySummary(default, default, 0, addedAt, _pendingHash),
                Stream = stream,
                HasMessageIds = false,
                Result = null,
                Completion = null,
                Change = new ControlChange(request.Kind, a, request.B, addedAt),
                ControlCompletion = operation,
                ControlResult = new LifecycleResult(LifecycleStatus.Done, count),
            });
        }
        catch (ArgumentException ex)
        {
            operation.TrySetException(ex);
        }
        catch (Exception ex)
        {
            _logger.Error(ex, "Lifecycle change {Kind} of stream {Stream} failed after its checks", request.Kind, request.Stream);
            _monitor.EnterReadOnly($"a lifecycle change failed after its checks ({ex.Message})");
            var failed = new StoreReadOnlyException(_monitor.ReadOnlyReason!, ex);
            _committer.SetFault(failed);
            operation.TrySetException(failed);
        }
    }

    private static void Forward(ValueTask<AppendResult> answer, Operation operation)
    {
        if (answer.IsCompletedSuccessfully)
        {
            operation.TrySetResult(answer.Result);
        }
        else
        {
            _ = ForwardAsync(answer, operation);
        }
    }

    private static async Task ForwardAsync(ValueTask<AppendResult> answer, Operation operation)
    {
        try
        {
            operation.TrySetResult(await answer.ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            operation.TrySetException(ex);
        }
    }

    /// <summary>Past the checks the writer's view may no longer match the log: the store goes read-only.</summary>
    private StoreReadOnlyException Fail(AppendRequest request, Exception ex)
    {
        _logger.Error(ex, "Append to stream {Stream} failed after its checks", request.Stream);
        _monitor.EnterReadOnly($"an append failed after its checks ({ex.Message})");
        var readOnly = new StoreReadOnlyException(_monitor.ReadOnlyReason!, ex);
        _committer.SetFault(readOnly);
        return readOnly;
    }

    /// <summary>Null while appends are accepted; else the error every append gets.</summary>
    /// <summary>Fails <paramref name="operation"/> when the store is closed or read-only; true when it did.</summary>
    private bool Refused<T>(TaskCompletionSource<T> operation)
    {
        Exception? refusal = Volatile.Read(ref _closed) ? new ObjectDisposedException(nameof(AppendWriter), "The store is closed.") : ReadOnlyError();
        if (refusal is null)
        {
            return false;
        }

        operation.TrySetException(refusal);
        return true;
    }

    private StoreReadOnlyException? ReadOnlyError()
    {
        if (_monitor.ReadOnlyReason is { } reason)
        {
            return new StoreReadOnlyException(reason);
        }

        return _committer.Fault is { } fault ? new StoreReadOnlyException(fault.Message, fault) : null;
    }

    /// <summary>Idempotency and expected-version checks; null with <paramref name="answered"/> set when the append is answered without writing.</summary>
    private CheckedAppend? Check(AppendRequest request, out ValueTask<AppendResult> answered)
    {
        answered = default;
        _state.Streams.TryGet(request.Stream, out var stream);
        long count = stream?.PendingCount ?? 0;

        if (stream is not null && CheckDuplicates(request, stream, count) is { } duplicate)
        {
            answered = duplicate;
            return null;
        }

        var status = request.Expected.Check(count);
        if (status != AppendStatus.Appended)
        {
            answered = new ValueTask<AppendResult>(new AppendResult { Status = status, StreamCount = count });
            return null;
        }

        return new CheckedAppend(stream, count, stream?.Number ?? _state.Streams.Count);
    }

    /// <summary>Assigns ids and positions and encodes the log entry; the scratch lists keep the per-event offsets until <see cref="Enqueued"/>.</summary>
    private EncodedAppend Encode(AppendRequest request, CheckedAppend append)
    {
        var events = request.Events;
        long count = append.Count;
        long addedAt = request.AddedAt ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long firstPosition = _nextPosition;

        // Render every event's JSON once, into one scratch buffer.
        _json.Clear();
        _rendered.Clear();
        int size = LogEntryFormat.HeaderSize + Encoding.UTF8.GetByteCount(request.Stream);
        bool hasMessageIds = false;
        _common.Clear();
        EventJsonWriter.WriteString(_common, request.Stream);
        int quotedStreamLength = _common.Length;
        EventJsonWriter.WriteTimestamp(_common, addedAt);
        for (int i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            var id = evt.Id is { } given ? _ids.Take(UlidCodec.FromUlid(given)) : _ids.Next(addedAt);
            int jsonStart = _json.Length;
            var causation = evt.CausationId is { } c ? UlidCodec.FromUlid(c) : id;
            var correlation = evt.CorrelationId is { } r ? UlidCodec.FromUlid(r) : causation;
            var common = _common.WrittenSpan;
            EventJsonWriter.WriteEvent(_json, id, firstPosition + i, common[..quotedStreamLength], count + i, evt, causation, correlation, common[quotedStreamLength..]);
            byte[]? messageId = evt.MessageId is null ? null : Encoding.UTF8.GetBytes(evt.MessageId);
            hasMessageIds |= messageId is not null;
            _rendered.Add(new RenderedEvent(id, messageId, jsonStart, _json.Length - jsonStart));
            size += LogEntryFormat.EventSize(messageId?.Length ?? 0, _json.Length - jsonStart);
        }

        if (size + LogLayout.RecordHeaderSize > _maxEntryBytes)
        {
            throw new ArgumentException($"The append encodes to {size} bytes, over the {_maxEntryBytes}-byte limit.", nameof(request));
        }

        // Encode the entry; the caller gets slices of it as the stored events' JSON.
        var bytes = new byte[size];
        int nameLength = Encoding.UTF8.GetBytes(request.Stream, bytes.AsSpan(LogEntryFormat.HeaderSize));
        LogEntryFormat.WriteHeader(bytes, _epoch, events.Count, firstPosition, append.StreamNumber, count, addedAt, nameLength);
        int offset = LogEntryFormat.HeaderSize + nameLength;
        var results = new ReadOnlyMemory<byte>[events.Count];
        var rendered = CollectionsMarshal.AsSpan(_rendered);
        for (int i = 0; i < rendered.Length; i++)
        {
            ref var evt = ref rendered[i];
            evt.EntryOffset = offset;
            var messageId = evt.MessageId ?? [];
            var json = _json.WrittenSpan.Slice(evt.JsonStart, evt.JsonLength);
            results[i] = new ReadOnlyMemory<byte>(bytes, offset + LogEntryFormat.EventFixedSize + messageId.Length, json.Length);
            offset += LogEntryFormat.WriteEvent(bytes.AsSpan(offset), evt.Id, messageId, json);
        }

        LogEntryFormat.Seal(bytes);
        return new EncodedAppend(append, bytes, results, addedAt, hasMessageIds);
    }

    /// <summary>Indexes the enqueued entry, moves the writer's view on and hands the entry to the committer.</summary>
    private void Enqueued(Operation operation, EncodedAppend encoded, long address)
    {
        var request = operation.Request;
        var events = request.Events;
        var append = encoded.Append;
        long count = append.Count;
        var stream = append.Stream ?? _state.Streams.Add(request.Stream, encoded.AddedAt);
        bool sparse = VersionKeys.IsSparse(encoded.Bytes.Length, _layout);
        for (int i = 0; i < events.Count; i++)
        {
            var location = new IndexValue { Address = address, Offset = _rendered[i].EntryOffset };
            if (VersionKeys.IsKeyed(count + i, count, sparse))
            {
                _index.Upsert(IndexKey.ForVersion(append.StreamNumber, count + i), location);
            }

            if (events[i].MessageId is { } messageId)
            {
                _index.Upsert(IndexKey.ForMessageId(append.StreamNumber, messageId), location);
            }
        }

        stream.PendingCount = count + events.Count;
        _nextPosition += events.Count;
        var result = new AppendResult { Status = AppendStatus.Appended, StreamCount = count, Events = encoded.Results };
        var summary = EntrySummary.Of(encoded.Bytes, _pendingHash);
        _pendingHash = summary.HashAfter;
        var pending = new PendingEntry
        {
            Address = address,
            End = LogLayout.RecordEnd(address, encoded.Bytes.Length),
            Bytes = encoded.HasMessageIds ? encoded.Bytes : null,
            Summary = summary,
            Stream = stream,
            HasMessageIds = encoded.HasMessageIds,
            Result = _acknowledgeBeforeCommit ? null : result,
            Completion = _acknowledgeBeforeCommit ? null : operation,
        };
        if (encoded.HasMessageIds)
        {
            _inFlightWithMessageIds[address] = pending;
        }

        _committer.Add(pending);
        if (_acknowledgeBeforeCommit)
        {
            operation.TrySetResult(result);
        }
    }

    /// <summary>Handles Duplicate and PartialDuplicate; returns true when the operation was answered.</summary>
    private ValueTask<AppendResult>? CheckDuplicates(AppendRequest request, StreamInfo stream, long count)
    {
        var events = request.Events;
        IndexValue[]? locations = null;
        int hits = 0;
        for (int i = 0; i < events.Count; i++)
        {
            if (events[i].MessageId is not { } messageId)
            {
                continue;
            }

            if (_index.TryGetForWriter(IndexKey.ForMessageId(stream.Number, messageId), out var location)
                && IsStored(location, stream.Number, Encoding.UTF8.GetBytes(messageId)))
            {
                locations ??= new IndexValue[events.Count];
                locations[i] = location;
                hits++;
            }
        }

        if (hits == 0)
        {
            return null;
        }

        if (hits < events.Count)
        {
            return new ValueTask<AppendResult>(new AppendResult { Status = AppendStatus.PartialDuplicate, StreamCount = count });
        }

        return new ValueTask<AppendResult>(ResolveDuplicateAsync(locations!, stream, count));
    }

    private bool IsStored(IndexValue location, long streamNumber, byte[] messageId)
    {
        if (location.Address < _state.AppliedEnd)
        {
            return _events.MatchesMessageId(location, streamNumber, messageId);
        }

        if (_inFlightWithMessageIds.TryGetValue(location.Address, out var pending))
        {
            return pending.Stream.Number == streamNumber && LogEventReader.MatchesMessageId(pending.Bytes!, location.Offset, messageId);
        }

        // Applied between the two checks above, or a key left behind by a cut-off tail.
        return location.Address < _state.AppliedEnd && _events.MatchesMessageId(location, streamNumber, messageId);
    }

    /// <summary>Answers a duplicate with the stored events once they are committed (they may still be in flight), as reads render them now (forgotten ones without data).</summary>
    private async Task<AppendResult> ResolveDuplicateAsync(IndexValue[] locations, StreamInfo stream, long count)
    {
        long last = locations.Max(l => l.Address);
        while (_state.AppliedEnd <= last)
        {
            if (_committer.Fault is not null)
            {
                throw ReadOnlyError()!;
            }

            await _state.Notifier.WaitAsync(() => _state.AppliedEnd > last || _committer.Fault is not null, CancellationToken.None).ConfigureAwait(false);
        }

        var stored = new ReadOnlyMemory<byte>[locations.Length];
        long forgottenBelow = stream.Lifecycle?.ForgottenBelow ?? 0;
        for (int i = 0; i < locations.Length; i++)
        {
            var json = _events.ReadEventJson(locations[i]);
            stored[i] = forgottenBelow > 0 && ForgottenEvent.VersionOf(json) < forgottenBelow ? ForgottenEvent.Render(json) : json;
        }

        return new AppendResult { Status = AppendStatus.Duplicate, StreamCount = count, Events = stored };
    }

    /// <summary>A queued append; completed with its result (after the commit, unless relaxed).</summary>
    private sealed class Operation(AppendRequest request) : TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public AppendRequest Request { get; } = request;
    }

    /// <summary>A queued lifecycle change; completed with its result once its record is durable.</summary>
    private sealed class ControlOperation(ControlRequest request) : TaskCompletionSource<LifecycleResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ControlRequest Request { get; } = request;
    }

    /// <summary>An append that passed the checks: its stream (null when new), the stream's count and number.</summary>
    private readonly record struct CheckedAppend(StreamInfo? Stream, long Count, long StreamNumber);

    /// <summary>The encoded entry of an append and what is needed to finish it once enqueued.</summary>
    private readonly record struct EncodedAppend(CheckedAppend Append, byte[] Bytes, ReadOnlyMemory<byte>[] Results, long AddedAt, bool HasMessageIds);
}
