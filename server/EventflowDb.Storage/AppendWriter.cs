using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// The single writer. Takes ADDs from a channel in arrival order, checks idempotency and the expected
/// version against its own view (which includes enqueued, uncommitted appends), assigns positions,
/// versions, ids and the timestamp, renders each event's JSON once, enqueues one FasterLog record per
/// ADD, indexes it, and hands it to the <see cref="Committer"/>.
/// </summary>
internal sealed class AppendWriter
{
    private readonly Channel<Operation> _channel = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly FasterLog _log;
    private readonly EventIndex _index;
    private readonly CommittedState _state;
    private readonly Committer _committer;
    private readonly LogEventReader _events;
    private readonly uint _epoch;
    private readonly Serilog.ILogger _logger;
    private readonly int _maxEntryBytes;
    private readonly UlidGenerator _ids;
    private readonly ConcurrentDictionary<long, PendingEntry> _inFlightWithMessageIds = new();
    private readonly ByteBuffer _json = new(64 * 1024);
    private readonly List<int> _jsonEnds = [];
    private readonly List<byte[]?> _messageIds = [];
    private long _nextPosition;

    public AppendWriter(FasterLog log, EventIndex index, CommittedState state, Committer committer, LogEventReader events, uint epoch, int maxEntryBytes, Serilog.ILogger logger)
    {
        _logger = logger;
        _log = log;
        _index = index;
        _state = state;
        _committer = committer;
        _events = events;
        _epoch = epoch;
        _maxEntryBytes = maxEntryBytes;
        _ids = new UlidGenerator(state.LastId);
        _nextPosition = state.EventCount;
        committer.Applied += entry =>
        {
            if (entry.HasMessageIds)
            {
                _inFlightWithMessageIds.TryRemove(entry.Address, out _);
            }
        };
    }

    public ValueTask<AppendResult> SubmitAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Events.Count == 0)
        {
            throw new ArgumentException("An append needs at least one event.", nameof(request));
        }

        var operation = new Operation(request, new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        ObjectDisposedException.ThrowIf(!_channel.Writer.TryWrite(operation), this);

        return new ValueTask<AppendResult>(operation.Completion.Task);
    }

    /// <summary>Stops taking appends; <see cref="RunAsync"/> finishes those already queued.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var operation))
            {
                try
                {
                    if (_committer.Fault is { } fault)
                    {
                        operation.Completion.TrySetException(new InvalidOperationException("The store failed to commit and accepts no more appends.", fault));
                    }
                    else if (operation.CancellationToken.IsCancellationRequested)
                    {
                        operation.Completion.TrySetCanceled(operation.CancellationToken);
                    }
                    else
                    {
                        await ProcessAsync(operation).ConfigureAwait(false);
                    }
                }
                catch (ArgumentException ex)
                {
                    // Rejected before anything was enqueued: the store is unchanged.
                    operation.Completion.TrySetException(ex);
                }
                catch (Exception ex)
                {
                    // Past the checks the writer's view may no longer match the log: stop taking appends.
                    _logger.Error(ex, "Append to stream {Stream} failed; the store accepts no more appends", operation.Request.Stream);
                    _committer.SetFault(ex);
                    operation.Completion.TrySetException(ex);
                }
            }
        }
    }

    private async ValueTask ProcessAsync(Operation operation)
    {
        var request = operation.Request;
        var events = request.Events;
        _state.Streams.TryGet(request.Stream, out var stream);
        long count = stream?.PendingCount ?? 0;

        if (stream is not null && CheckDuplicates(operation, stream, count))
        {
            return;
        }

        var status = CheckExpectedVersion(request.Expected, count);
        if (status != AppendStatus.Appended)
        {
            operation.Completion.TrySetResult(new AppendResult { Status = status, StreamCount = count });
            return;
        }

        long streamNumber = stream?.Number ?? _state.Streams.Count;
        long addedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long firstPosition = _nextPosition;

        // Render every event's JSON once, into one scratch buffer.
        _json.Clear();
        _jsonEnds.Clear();
        _messageIds.Clear();
        var ids = new UInt128[events.Count];
        int size = LogEntryFormat.HeaderSize + Encoding.UTF8.GetByteCount(request.Stream);
        bool hasMessageIds = false;
        for (int i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            var id = _ids.Next(addedAt);
            ids[i] = id;
            var causation = evt.CausationId is { } c ? UlidCodec.FromUlid(c) : id;
            var correlation = evt.CorrelationId is { } r ? UlidCodec.FromUlid(r) : causation;
            EventJsonWriter.WriteEvent(_json, id, firstPosition + i, request.Stream, count + i, evt, causation, correlation, addedAt);
            _jsonEnds.Add(_json.Length);
            byte[]? messageId = evt.MessageId is null ? null : Encoding.UTF8.GetBytes(evt.MessageId);
            hasMessageIds |= messageId is not null;
            _messageIds.Add(messageId);
            size += LogEntryFormat.EventSize(messageId?.Length ?? 0, JsonLength(i));
        }

        if (size + LogLayout.RecordHeaderSize > _maxEntryBytes)
        {
            throw new ArgumentException($"The append encodes to {size} bytes, over the {_maxEntryBytes}-byte limit.", nameof(operation));
        }

        // Encode the entry; the caller gets slices of it as the stored events' JSON.
        var bytes = new byte[size];
        int nameLength = Encoding.UTF8.GetBytes(request.Stream, bytes.AsSpan(LogEntryFormat.HeaderSize));
        LogEntryFormat.WriteHeader(bytes, _epoch, events.Count, firstPosition, streamNumber, count, addedAt, nameLength);
        int offset = LogEntryFormat.HeaderSize + nameLength;
        var offsets = new int[events.Count];
        var results = new ReadOnlyMemory<byte>[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            offsets[i] = offset;
            var messageId = _messageIds[i] ?? [];
            var json = _json.WrittenSpan[JsonStart(i).._jsonEnds[i]];
            results[i] = new ReadOnlyMemory<byte>(bytes, offset + LogEntryFormat.EventFixedSize + messageId.Length, json.Length);
            offset += LogEntryFormat.WriteEvent(bytes.AsSpan(offset), ids[i], messageId, json);
        }

        LogEntryFormat.Seal(bytes);

        if (!_log.TryEnqueue(bytes, out long address))
        {
            // The in-memory log is full until a flush completes; make sure one is under way, then wait.
            _committer.Signal();
            address = await _log.EnqueueAsync(bytes).ConfigureAwait(false);
        }

        stream ??= _state.Streams.Add(request.Stream, addedAt);
        for (int i = 0; i < events.Count; i++)
        {
            var location = new IndexValue { Address = address, Offset = offsets[i] };
            _index.Upsert(IndexKey.ForVersion(streamNumber, count + i), location);
            if (events[i].MessageId is { } messageId)
            {
                _index.Upsert(IndexKey.ForMessageId(streamNumber, messageId), location);
            }
        }

        stream.PendingCount = count + events.Count;
        _nextPosition += events.Count;
        var pending = new PendingEntry
        {
            Address = address,
            End = LogLayout.RecordEnd(address, bytes.Length),
            Bytes = bytes,
            Stream = stream,
            HasMessageIds = hasMessageIds,
            Result = new AppendResult { Status = AppendStatus.Appended, StreamCount = count, Events = results },
            Completion = operation.Completion,
        };
        if (hasMessageIds)
        {
            _inFlightWithMessageIds[address] = pending;
        }

        _committer.Add(pending);
    }

    /// <summary>Handles Duplicate and PartialDuplicate; returns true when the operation was answered.</summary>
    private bool CheckDuplicates(Operation operation, StreamInfo stream, long count)
    {
        var events = operation.Request.Events;
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
            return false;
        }

        if (hits < events.Count)
        {
            operation.Completion.TrySetResult(new AppendResult { Status = AppendStatus.PartialDuplicate, StreamCount = count });
            return true;
        }

        _ = ResolveDuplicateAsync(operation, locations!, count);
        return true;
    }

    private bool IsStored(IndexValue location, long streamNumber, byte[] messageId)
    {
        if (location.Address < _state.AppliedEnd)
        {
            return _events.MatchesMessageId(location, streamNumber, messageId);
        }

        if (_inFlightWithMessageIds.TryGetValue(location.Address, out var pending))
        {
            return pending.Stream.Number == streamNumber && LogEventReader.MatchesMessageId(pending.Bytes, location.Offset, messageId);
        }

        // Applied between the two checks above, or a key left behind by a cut-off tail.
        return location.Address < _state.AppliedEnd && _events.MatchesMessageId(location, streamNumber, messageId);
    }

    /// <summary>Answers a duplicate with the stored events once they are committed (they may still be in flight).</summary>
    private async Task ResolveDuplicateAsync(Operation operation, IndexValue[] locations, long count)
    {
        try
        {
            long last = locations.Max(l => l.Address);
            while (_state.AppliedEnd <= last)
            {
                if (_committer.Fault is { } fault)
                {
                    throw new InvalidOperationException("The store failed to commit.", fault);
                }

                await _state.Notifier.WaitAsync(() => _state.AppliedEnd > last || _committer.Fault is not null, CancellationToken.None).ConfigureAwait(false);
            }

            var stored = new ReadOnlyMemory<byte>[locations.Length];
            for (int i = 0; i < locations.Length; i++)
            {
                stored[i] = _events.ReadEventJson(locations[i]);
            }

            operation.Completion.TrySetResult(new AppendResult { Status = AppendStatus.Duplicate, StreamCount = count, Events = stored });
        }
        catch (Exception ex)
        {
            operation.Completion.TrySetException(ex);
        }
    }

    private static AppendStatus CheckExpectedVersion(ExpectedVersion expected, long count) => expected.Value switch
    {
        -1 => AppendStatus.Appended,
        -2 => count == 0 ? AppendStatus.Appended : AppendStatus.WrongVersionConflict,
        -3 => count >= 1 ? AppendStatus.Appended : AppendStatus.WrongVersionGap,
        long n when n < count => AppendStatus.WrongVersionConflict,
        long n when n > count => AppendStatus.WrongVersionGap,
        _ => AppendStatus.Appended,
    };

    private int JsonStart(int i) => i == 0 ? 0 : _jsonEnds[i - 1];

    private int JsonLength(int i) => _jsonEnds[i] - JsonStart(i);

    private sealed record Operation(AppendRequest Request, TaskCompletionSource<AppendResult> Completion, CancellationToken CancellationToken);
}
