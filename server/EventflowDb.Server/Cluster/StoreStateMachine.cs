using System.Buffers.Binary;
using System.Threading.Channels;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// Raft's state machine: applies committed log entries, in log order, to this member's own store through the normal
/// store API. The apply only queues the write in the store's writer (which checks expected versions and message ids
/// against everything queued before it, so the outcome is the same on every member); durability follows with the
/// store's group commit. Once a write is durable, the entry's index is written to <c>raft/applied</c>.
/// </summary>
/// <remarks>
/// Recovery: the log is not compacted, so at start the WAL hands every committed entry to <see cref="ApplyAsync"/>
/// again. An entry is skipped when its index is at most the persisted applied index, or when its leader-stamped mark
/// is not above the store's last durable event id (marks increase along the log, so such an entry is in the store);
/// the rest are applied. Logged at Information.
/// </remarks>
internal sealed class StoreStateMachine : IStateMachine, IDisposable
{
    private readonly IEventStore _store;
    private readonly Serilog.ILogger _logger;
    private readonly FileStream _appliedFile;
    private readonly Ulid _durableAtStart;
    private readonly long _appliedAtStart;
    private readonly Channel<(long Index, Task Write)> _durability = Channel.CreateUnbounded<(long, Task)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Task _durabilityLoop;
    private long _lastApplied;
    private long _durableIndex;
    private long _skipped;
    private long _replayed;
    private bool _recoveryLogged;
    private Ulid _lastMark;

    public StoreStateMachine(IEventStore store, string appliedPath, Serilog.ILogger logger)
    {
        _store = store;
        _logger = logger;
        _appliedFile = new FileStream(appliedPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        Span<byte> bytes = stackalloc byte[8];
        _appliedAtStart = _appliedFile.Read(bytes) == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;
        _durableIndex = _appliedAtStart;
        _durableAtStart = store.Checksum.LastId;
        _lastMark = _durableAtStart;
        _durabilityLoop = Task.Run(RecordDurableAsync);
        logger.Information(
            "Cluster recovery: the store holds {Events} events (last id {LastId}) and Raft entries through index {AppliedIndex}; committed entries after it are applied again unless already in the store",
            store.EventCount, _durableAtStart, _appliedAtStart);
    }

    /// <summary>Where consumer-group entries go (<see cref="ReplicatedKind.Group"/>); they have their own restart rule.</summary>
    public ReplicatedGroups? Groups { get; init; }

    /// <summary>Index of the last entry handed to the store.</summary>
    public long LastApplied => Volatile.Read(ref _lastApplied);

    /// <summary>Index of the last entry durable in the store.</summary>
    public long DurableIndex => Volatile.Read(ref _durableIndex);

    /// <summary>The highest mark applied so far (at least the store's last id): a new leader stamps above it.</summary>
    public Ulid LastMark
    {
        get
        {
            lock (_durability)
            {
                return _lastMark;
            }
        }
    }

    /// <summary>Called by the leader's proposals: the write's outcome, once this member applies its entry.</summary>
    public sealed class Pending
    {
        private readonly TaskCompletionSource<object> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<object> Outcome => _done.Task;

        public void Complete(object result) => _done.TrySetResult(result);

        public void Fail(Exception e) => _done.TrySetException(e);
    }

    public async ValueTask<long> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        long index = entry.Index;
        if (entry.IsSnapshot || !entry.TryGetPayload(out var payload) || payload.IsEmpty)
        {
            // Leader no-ops (and membership entries) change nothing in the store.
            Volatile.Write(ref _lastApplied, index);
            return index;
        }

        var pending = entry.Context as Pending;
        ReplicatedCommand command;
        try
        {
            command = ReplicatedCommand.Decode(payload);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            _logger.Error(e, "Raft entry {Index} cannot be decoded; skipped", index);
            pending?.Fail(e);
            Volatile.Write(ref _lastApplied, index);
            return index;
        }

        if (command.Kind == ReplicatedKind.Group && Groups is not null)
        {
            // Not a store write: applied (durably) to the groups' journal, which skips the entries it already holds.
            await Groups.ApplyAsync(index, command, pending).ConfigureAwait(false);
            await _durability.Writer.WriteAsync((index, Task.CompletedTask), token).ConfigureAwait(false);
            Volatile.Write(ref _lastApplied, index);
            return index;
        }

        lock (_durability)
        {
            if (command.Mark.CompareTo(_lastMark) > 0)
            {
                _lastMark = command.Mark;
            }
        }

        if (index <= _appliedAtStart || command.Mark.CompareTo(_durableAtStart) <= 0)
        {
            // Already in the store before this start.
            _skipped++;
            pending?.Fail(ClusterUnavailableException.NoLeader("the write's outcome was lost in a restart"));
            Volatile.Write(ref _lastApplied, index);
            return index;
        }

        LogRecoveryOnce();
        if (!_recoveryLogged)
        {
            _replayed++;
        }

        Task write;
        try
        {
            write = Apply(command, pending, token);
        }
        catch (Exception e) when (e is ArgumentException or StoreReadOnlyException or IOException)
        {
            // The same refusal on every member (the encoded size), or this member's store failed: logged, not fatal to Raft.
            _logger.Warning("Raft entry {Index} ({Kind} on stream {Stream}) was not applied: {Error}", index, command.Kind, command.Stream, e.Message);
            pending?.Fail(e);
            write = Task.CompletedTask;
        }

        await _durability.Writer.WriteAsync((index, write), token).ConfigureAwait(false);
        Volatile.Write(ref _lastApplied, index);
        return index;
    }

    /// <summary>Once the first entry after the skipped ones arrives, says how recovery went.</summary>
    private void LogRecoveryOnce()
    {
        if (_recoveryLogged)
        {
            return;
        }

        _recoveryLogged = true;
        if (_skipped > 0)
        {
            _logger.Information("Cluster recovery: skipped {Skipped} Raft entries already in the store; applying from there", _skipped);
        }
    }

    private Task Apply(ReplicatedCommand command, Pending? pending, CancellationToken token)
    {
        switch (command.Kind)
        {
            case ReplicatedKind.Append:
                var appended = _store.AppendAsync(command.Append!, token).AsTask();
                Forward(appended, pending);
                return appended;
            default:
                var changed = command.Kind switch
                {
                    ReplicatedKind.Delete => _store.DeleteStreamAsync(command.Stream, command.A, token),
                    ReplicatedKind.Truncate => _store.TruncateStreamAsync(command.Stream, command.A!.Value, token),
                    ReplicatedKind.StreamMeta => _store.SetStreamMetadataAsync(command.Stream, command.A, command.B, token),
                    ReplicatedKind.Snapshot => _store.SaveSnapshotAsync(command.Stream, command.A!.Value, command.Data, token),
                    ReplicatedKind.Forget => _store.ForgetStreamAsync(command.Stream, token),
                    _ => throw new InvalidDataException($"unknown kind {command.Kind}"),
                };
                Forward(changed, pending);
                return changed;
        }
    }

    private static void Forward<T>(Task<T> write, Pending? pending)
        where T : notnull
    {
        if (pending is null)
        {
            return;
        }

        write.ContinueWith(
            static (t, state) =>
            {
                var p = (Pending)state!;
                if (t.IsCompletedSuccessfully)
                {
                    p.Complete(t.Result);
                }
                else
                {
                    p.Fail(t.Exception?.InnerException ?? new OperationCanceledException());
                }
            },
            pending,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Writes the index of each entry once its write is durable, in log order.</summary>
    private async Task RecordDurableAsync()
    {
        try
        {
            await RecordDurableLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.Error(e, "Cluster: recording the applied Raft index failed");
        }
    }

    private void WriteApplied(long index)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, index);
        _appliedFile.Position = 0;
        _appliedFile.Write(buffer);
        _appliedFile.Flush();
    }

    private async Task RecordDurableLoopAsync()
    {
        await foreach (var (index, write) in _durability.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.Debug(e, "Raft entry {Index} failed in the store", index);
            }

            Volatile.Write(ref _durableIndex, index);
            if (!_durability.Reader.TryPeek(out _))
            {
                WriteApplied(index);
            }
        }

        WriteApplied(Volatile.Read(ref _durableIndex));
        _appliedFile.Flush(flushToDisk: true);
    }

    /// <summary>Waits until every applied write is durable and its index recorded.</summary>
    public async Task CompleteAsync()
    {
        _durability.Writer.TryComplete();
        await _durabilityLoop.ConfigureAwait(false);
    }

    ISnapshot? ISnapshotManager.Snapshot => null;

    ValueTask ISnapshotManager.ReclaimGarbageAsync(long watermark, CancellationToken token) => ValueTask.CompletedTask;

    public void Dispose() => _appliedFile.Dispose();
}
