using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using DotNext.IO;
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
/// Recovery: at start the WAL hands every committed entry after this member's snapshot (<see cref="StoreSnapshot"/>,
/// taken by <see cref="CompactAsync"/>) to <see cref="ApplyAsync"/> again. An entry is skipped exactly when its leader-stamped mark is not above the store's last durable event id:
/// marks increase along the log and the store keeps writes in log order, so such an entry is in the store. Nothing
/// else is trusted: <c>raft/applied</c> may name entries a store lost afterwards (a tail cut by <c>--repair</c>, writes
/// not yet synced under <c>--fsync everysec</c>), and those must be applied again. The cost: lifecycle changes after
/// the last event (their mark is above it) are applied once more at each start; they are idempotent at the same state.
/// A store failure while applying (read-only store, I/O error) stops this member's applying for good (see
/// <see cref="Failure"/>): skipping an entry would make its store differ from the others' without anyone noticing.
/// </remarks>
internal sealed class StoreStateMachine : IStateMachine, IDisposable
{
    private readonly IEventStore _store;
    private readonly Serilog.ILogger _logger;
    private readonly FileStream _appliedFile;
    private readonly Ulid _durableAtStart;
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<Durable> _durability = Channel.CreateUnbounded<Durable>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly string _raftDirectory;
    private readonly long _keepEntries;
    private readonly TaskCompletionSource _installRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _snapshotGate = new();
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly AheadLog _ahead;
    private StoreSnapshot? _snapshot;
    private (long Index, long Term, Ulid Top)? _candidate;
    private Ulid _storedTop;
    private readonly Task _durabilityLoop;
    private long _lastApplied;
    private long _durableIndex;
    private long _skipped;
    private long _skippedThrough;
    private bool _recoveryLogged;
    private Ulid _lastMark;

    /// <summary>An entry handed to the store: its index and term, the last event id through it, and its write.</summary>
    private readonly record struct Durable(long Index, long Term, Task Write);

    /// <param name="store">This member's store.</param>
    /// <param name="raftDirectory"><c>&lt;data&gt;/raft</c>: the applied index, the snapshot record, a pending install.</param>
    /// <param name="snapshotEntries">Entries the log keeps before it is compacted (<c>--cluster-snapshot-entries</c>).</param>
    /// <param name="logger">Where recovery and compaction are told.</param>
    public StoreStateMachine(IEventStore store, string raftDirectory, long snapshotEntries, Serilog.ILogger logger)
    {
        _store = store;
        _logger = logger;
        _raftDirectory = raftDirectory;
        _keepEntries = Math.Max(8, snapshotEntries / 2);
        _snapshot = StoreSnapshot.Load(raftDirectory);
        var lastId = store.Checksum.LastId;
        if (_snapshot is not null && lastId.CompareTo(_snapshot.LastEventId) < 0)
        {
            // The log no longer has the entries this store lost (a tail cut by --repair, files removed): only a copy of a
            // member's store brings them back.
            _snapshot.Save(raftDirectory, SnapshotInstall.FileName);
            throw new SnapshotInstallRequiredException(
                $"the store's last event {lastId} is before {_snapshot.LastEventId}, which it held when the Raft log was compacted through entry {_snapshot.Index}");
        }

        _appliedFile = new FileStream(Path.Combine(raftDirectory, "applied"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        _ahead = new AheadLog(raftDirectory);

        // Checked before the snapshot was taken (it covers committed entries only); the file may still list them.
        _ahead.DropThrough(_snapshot?.Index ?? 0);
        if (_ahead.Count > 0)
        {
            logger.Information("Cluster recovery: {Count} Raft entries from index {Index} were applied ahead of the majority (--replication async); each is checked when it is committed", _ahead.Count, _ahead.LowestIndex);
        }

        Span<byte> bytes = stackalloc byte[8];
        long appliedAtStart = _appliedFile.Read(bytes) == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;

        // Not raft/applied (a store may lose writes after they were recorded): what a snapshot or an installed copy
        // proves; the entries after it count once they are applied again.
        _durableIndex = Math.Max(_snapshot?.Index ?? 0, SnapshotInstall.CopiedIndex(raftDirectory));
        _durableAtStart = store.Checksum.LastId;

        // What entries through a snapshot stored, for an async leader's snapshots: the store's own last id, unless it may
        // hold writes applied ahead of the commit (then what the last snapshot recorded).
        _storedTop = _ahead.Count > 0 ? _snapshot?.LastEventId ?? default : _durableAtStart;
        _lastMark = _durableAtStart;
        _durabilityLoop = Task.Run(RecordDurableAsync);
        logger.Information(
            "Cluster recovery: the store holds {Events} events (last id {LastId}; Raft entries through index {AppliedIndex} were recorded as applied); committed entries whose mark is above that id are applied again",
            store.EventCount, _durableAtStart, appliedAtStart);
    }

    /// <summary>
    /// At start: throws <see cref="SnapshotInstallRequiredException"/> (an install recorded) when the consumer groups'
    /// journal holds fewer entries than when the log was compacted (its files were lost): no log has them any more.
    /// </summary>
    public static void CheckGroupsHeld(string raftDirectory, long groupsIndex)
    {
        if (StoreSnapshot.Load(raftDirectory) is { } snapshot && groupsIndex < snapshot.GroupsIndex)
        {
            snapshot.Save(raftDirectory, SnapshotInstall.FileName);
            throw new SnapshotInstallRequiredException(
                $"the consumer groups hold Raft entries through {groupsIndex} only, they held {snapshot.GroupsIndex} when the Raft log was compacted through entry {snapshot.Index}");
        }
    }

    /// <summary>Client addresses of the known members, this member first (recorded in snapshots: where a store can be copied from).</summary>
    public Func<IReadOnlyList<string>> Sources { get; set; } = () => [];

    /// <summary>Completes when the leader sent a snapshot this member's store lacks: it must install a copy of a store.</summary>
    public Task InstallRequested => _installRequested.Task;

    /// <summary>The index through which the Raft log is compacted here (0: not compacted).</summary>
    public long SnapshotIndex => Volatile.Read(ref _snapshot)?.Index ?? 0;

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

    /// <summary>Why this member stopped applying entries (its store failed), or null while it applies normally.</summary>
    public string? Failure => _failed.Task.IsCompleted ? _failed.Task.Result : null;

    /// <summary>Completes when this member's store fails and applying stops.</summary>
    public Task<string> Failed => _failed.Task;

    /// <summary>
    /// Called by the leader's proposals: the write's outcome, once this member applies its entry. <see cref="Term"/> is
    /// the term the entry was appended with: DotNext keeps a proposal's context by log index, and a later leader can
    /// overwrite that index with an entry of its own term, which must not answer the old proposal.
    /// </summary>
    public sealed class Pending(long term)
    {
        private readonly TaskCompletionSource<object> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Term => term;

        public Task<object> Outcome => _done.Task;

        public void Complete(object result) => _done.TrySetResult(result);

        public void Fail(Exception e) => _done.TrySetException(e);
    }

    public async ValueTask<long> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        long index = entry.Index;
        await _applyGate.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (entry.IsSnapshot)
            {
                return await ReceiveSnapshotAsync(entry, token).ConfigureAwait(false);
            }

            if (_ahead.First is { } below && below.Index < index)
            {
                // DotNext hands over only entries with a payload: the entry committed at that index was a new leader's
                // no-op (an entry applied ahead always has one), so the store holds writes the cluster did not keep. The
                // install is pending from here: the entry below fails its writers, if any, and reaches no store.
                Diverged(below.Index, "a leader's no-op", below.Term);
            }
            else if (index >= _ahead.LowestIndex && _ahead.Take(index) is { } ahead)
            {
                if (ahead.Term != entry.Term)
                {
                    Diverged(index, $"an entry of term {entry.Term}", ahead.Term);
                }
                else if (ahead.Live)
                {
                    // Applied ahead by this process: the store has it and its writers were answered.
                    Volatile.Write(ref _lastApplied, index);
                    return index;
                }

                // Else applied ahead before a restart, the same entry: the restart rule below says whether the store kept it.
            }

            entry.TryGetPayload(out var payload);
            if (await ApplyEntryAsync(index, entry.Term, payload, entry.Context, token).ConfigureAwait(false))
            {
                Volatile.Write(ref _lastApplied, index);
            }

            return index;
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>
    /// The leader under <c>--replication async</c>: applies its own entry before a majority commits it, so that its
    /// writers are answered once this store holds their writes. In log order only: once every entry before it is applied
    /// (committed, or ahead in this term); it waits for that until <paramref name="token"/> ends. False when the entry was
    /// not applied ahead: then its commit applies it and answers its writers, as under sync.
    /// </summary>
    public async Task<bool> ApplyAheadAsync(long index, long term, byte[] content, object context, CancellationToken token)
    {
        while (true)
        {
            await _applyGate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                if (LastApplied >= index || _installRequested.Task.IsCompleted || _failed.Task.IsCompleted)
                {
                    return false;
                }

                if (Math.Max(LastApplied, _ahead.HighestIndex) == index - 1 && _ahead.OnlyLive(term))
                {
                    // Recorded before the store sees it: after a crash the commit of this index is still checked.
                    _ahead.Add(index, term);
                    bool applied;
                    try
                    {
                        applied = await ApplyEntryAsync(index, term, new ReadOnlySequence<byte>(content), context, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // Partly applied, maybe: neither skipping its commit nor applying it again is right. A copy is.
                        Diverged(index, $"a write this member failed to apply ahead ({e.Message})", term);
                        throw;
                    }

                    if (!applied)
                    {
                        // The store failed on it (this member stops applying): at its commit it must not count as applied.
                        _ahead.Demote(index);
                    }

                    return applied;
                }
            }
            finally
            {
                _applyGate.Release();
            }

            // An earlier entry is not applied yet (the first entries of a leadership wait for the previous term's commit).
            await Task.Delay(1, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Called with DotNext's applied index (which counts entries without payload, never handed to <see cref="ApplyAsync"/>):
    /// a record at or below it was not checked because the entry committed there was a leader's no-op, so the store holds
    /// writes the cluster did not keep. Catches the divergence when no later write commits.
    /// </summary>
    public async Task CheckAheadThroughAsync(long appliedIndex, CancellationToken token)
    {
        if (_ahead.LowestIndex > appliedIndex)
        {
            return;
        }

        await _applyGate.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (_ahead.First is { } first && first.Index <= appliedIndex)
            {
                Diverged(first.Index, "a leader's no-op", first.Term);
            }
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>Entries this member applied ahead of the majority and not yet checked against the committed log.</summary>
    public int AheadEntries => _ahead.Count;

    /// <summary>The highest index this member applied ahead of the majority (0: none).</summary>
    public long AheadHighestIndex => _ahead.HighestIndex;

    /// <summary>
    /// Entry <paramref name="index"/> was committed with another term than the entry this member applied there ahead of
    /// the majority (as an async leader): its store holds writes the cluster did not keep, and only a copy of a member's
    /// store repairs that. Recorded as a pending install, like a snapshot the store lacks.
    /// </summary>
    private void Diverged(long index, string committed, long aheadTerm)
    {
        lock (_snapshotGate)
        {
            if (_installRequested.Task.IsCompleted)
            {
                return;
            }

            var sources = Sources().Concat(SnapshotSources()).Distinct(StringComparer.Ordinal).ToList();
            new StoreSnapshot(index, 0, default, sources).Save(_raftDirectory, SnapshotInstall.FileName);
            _installRequested.TrySetResult();
        }

        _logger.Warning(
            "Cluster: Raft entry {Index} holds {Committed}, but this member applied an entry of term {AheadTerm} there ahead of the majority (--replication async, as leader): the writes it acknowledged alone were not kept by the cluster; it will install a copy of a member's store and restart its service",
            index, committed, aheadTerm);
    }

    /// <summary>
    /// Applies entry <paramref name="index"/> (committed, or ahead of the commit on an async leader): its commands reach
    /// the store in order and its proposals (<paramref name="context"/>) get their outcomes. False when this member's store
    /// failed on it (the entry does not count as applied).
    /// </summary>
    private async ValueTask<bool> ApplyEntryAsync(long index, long term, ReadOnlySequence<byte> payload, object? context, CancellationToken token)
    {
        if (_installRequested.Task.IsCompleted)
        {
            // The store is about to be replaced: nothing reaches it. After the install the WAL hands these entries over
            // again (it applies every committed entry after the snapshot at each start). A proposal of this member (it
            // led briefly) gets no outcome here.
            foreach (var p in context switch { Pending one => [one], Pending[] many => many, _ => [] })
            {
                p.Fail(ClusterUnavailableException.NoLeader("this member is replacing its store by a copy; the write's outcome is unknown, retry it (with message ids it is stored once)"));
            }

            return true;
        }

        if (payload.IsEmpty)
        {
            // Leader no-ops (and membership entries) change nothing in the store.
            return true;
        }

        // The leader's proposals: one Pending for a single command, one per command for a batch (in order).
        var pendings = context switch
        {
            Pending one => [one],
            Pending[] many => many,
            _ => null,
        };
        if (pendings is { Length: > 0 } && pendings[0].Term != term)
        {
            // This member proposed an entry at this index as an old leader, and the next leader replaced it: the
            // proposal was never committed, and the entry applied here is someone else's.
            foreach (var p in pendings)
            {
                p.Fail(ClusterUnavailableException.NoLeader("leadership was lost before the write was committed; it was not stored, retry it"));
            }

            pendings = null;
        }

        IReadOnlyList<ReplicatedCommand> commands;
        try
        {
            commands = ReplicatedBatch.Decode(payload);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            _logger.Error(e, "Raft entry {Index} cannot be decoded; skipped", index);
            foreach (var p in pendings ?? [])
            {
                p.Fail(e);
            }

            return true;
        }

        if (pendings is not null && pendings.Length != commands.Count)
        {
            // Cannot happen (the leader builds both from the same list); never answer a write with another's result.
            foreach (var p in pendings)
            {
                p.Fail(ClusterUnavailableException.NoLeader("the write's entry did not match its proposal; its outcome is unknown"));
            }

            pendings = null;
        }

        // Each command under the same rules as a single-command entry, in order; the entry counts as durable once all of
        // its writes are.
        Task? single = null;
        List<Task>? writes = null;
        for (int i = 0; i < commands.Count; i++)
        {
            var write = await ApplyCommandAsync(index, commands[i], pendings?[i], token).ConfigureAwait(false);
            if (write is null)
            {
                // This member's store failed on this command: nothing after it reaches the store.
                for (int j = i + 1; j < commands.Count; j++)
                {
                    pendings?[j].Fail(CommittedElsewhere());
                }

                return false;
            }

            if (single is null)
            {
                single = write;
            }
            else
            {
                writes ??= [single];
                writes.Add(write);
            }
        }

        await _durability.Writer.WriteAsync(new Durable(index, term, writes is null ? single ?? Task.CompletedTask : InOrderAsync(writes)), token).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Applies one command of entry <paramref name="index"/>: the task that completes once it is durable here (or was
    /// skipped, refused), or null when this member's store failed (or had failed) and applying stops for good.
    /// </summary>
    private async ValueTask<Task?> ApplyCommandAsync(long index, ReplicatedCommand command, Pending? pending, CancellationToken token)
    {
        if (command.Kind == ReplicatedKind.Group && Groups is not null)
        {
            // Not a store write: applied (durably) to the groups' journal, which skips the entries it already holds. The
            // leader proposes a group record as an entry of its own, so the entry's index names it alone.
            if (_failed.Task.IsCompleted)
            {
                pending?.Fail(CommittedElsewhere());
                return null;
            }

            try
            {
                await Groups.ApplyAsync(index, command, pending).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                // A journal that missed a record would leave this member's groups different for good: it stops applying
                // like a failed store, and after a restart the entries its journal lacks are applied again.
                pending?.Fail(CommittedElsewhere());
                Fail(index, command, e);
                return null;
            }

            return Task.CompletedTask;
        }

        lock (_durability)
        {
            // The highest stamp of the command: an append's last event id (a new leader must stamp above every id stored).
            var top = command.Kind == ReplicatedKind.Append && command.Append!.Events.Count > 0 && command.Append.Events[^1].Id is { } last ? last : command.Mark;
            if (top.CompareTo(_lastMark) > 0)
            {
                _lastMark = top;
            }

        }

        if (_failed.Task.IsCompleted)
        {
            // Failed for good: nothing more reaches this store. The WAL counts the entry as applied, which costs nothing:
            // every start hands all committed entries over again and the store's own last event decides.
            pending?.Fail(CommittedElsewhere());
            return null;
        }

        if (command.Mark.CompareTo(_durableAtStart) <= 0)
        {
            // Already in the store before this start (marks increase along the log, inside a batch too).
            _skipped++;
            _skippedThrough = index;
            pending?.Fail(ClusterUnavailableException.NoLeader("the write's outcome was lost in a restart"));
            return Task.CompletedTask;
        }

        LogRecoveryOnce();
        try
        {
            return Apply(command, pending, token);
        }
        catch (ArgumentException e)
        {
            // The same refusal on every member (the encoded size): the command changes nothing anywhere.
            _logger.Warning("Raft entry {Index} ({Kind} on stream {Stream}) was refused by the store: {Error}", index, command.Kind, command.Stream, e.Message);
            pending?.Fail(e);
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // This member's store failed: it stops here, so that it never holds a different history from the others.
            pending?.Fail(CommittedElsewhere());
            Fail(index, command, e);
            return null;
        }
    }

    /// <summary>
    /// The writes of one batch entry, awaited in order; a refused one (same on every member) changes nothing. Its result:
    /// the last event id the entry stored (none: default).
    /// </summary>
    private static async Task<Ulid> InOrderAsync(List<Task> writes)
    {
        Ulid top = default;
        foreach (var write in writes)
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                continue;
            }

            if (write is Task<Ulid> stored && stored.Result.CompareTo(top) > 0)
            {
                top = stored.Result;
            }
        }

        return top;
    }

    /// <summary>An append's write, whose result is its last event id when the store took it (default when it refused it).</summary>
    private static async Task<Ulid> StoredTopAsync(Task<AppendResult> appended, Ulid last) =>
        (await appended.ConfigureAwait(false)).Status == AppendStatus.Appended ? last : default;

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
            _logger.Information("Cluster recovery: skipped {Skipped} writes already in the store (in Raft entries through index {Index}); applying from there", _skipped, _skippedThrough);
        }
        else
        {
            _logger.Information("Cluster recovery: no Raft entry was in the store already; applying from the first");
        }
    }

    /// <summary>
    /// The reply of a committed write that this member's store failed to apply: the entry is in the cluster's log and the
    /// other members store it, so it is neither refused nor acknowledged here; the client retries it (with message ids it
    /// is stored once) and reaches the next leader.
    /// </summary>
    private static ClusterUnavailableException CommittedElsewhere() =>
        ClusterUnavailableException.NoLeader("this member's store failed while applying the write and it hands leadership over; the write's outcome is unknown, retry it (with message ids it is stored once)");

    /// <summary>Records the first store failure, with the entry that met it.</summary>
    private void Fail(long index, ReplicatedCommand command, Exception e)
    {
        string reason = $"the store failed applying Raft entry {index} ({command.Kind} on stream '{command.Stream}'): {e.Message}";
        if (_failed.TrySetResult(reason))
        {
            _logger.Error(e, "Cluster: {Reason}. This member stops applying entries (reads serve what it holds) and stays out of elections; fix the store and restart it, it then applies from its last durable event", reason);
        }
    }

    private Task Apply(ReplicatedCommand command, Pending? pending, CancellationToken token)
    {
        switch (command.Kind)
        {
            case ReplicatedKind.Append:
                var appended = _store.AppendAsync(command.Append!, token).AsTask();
                Forward(appended, pending);
                return StoredTopAsync(appended, command.Append!.Events is [.., { Id: { } last }] ? last : default);
            default:
                // The leader stamped the mark with its clock: every member writes the change with that time.
                long at = command.Mark.Time.ToUnixTimeMilliseconds();
                var changed = command.Kind switch
                {
                    ReplicatedKind.Delete => _store.DeleteStreamAsync(command.Stream, command.A, at, token),
                    ReplicatedKind.Truncate => _store.TruncateStreamAsync(command.Stream, command.A!.Value, at, token),
                    ReplicatedKind.StreamMeta => _store.SetStreamMetadataAsync(command.Stream, command.A, command.B, at, token),
                    ReplicatedKind.Snapshot => _store.SaveSnapshotAsync(command.Stream, command.A!.Value, command.Data, at, token),
                    ReplicatedKind.Forget => _store.ForgetStreamAsync(command.Stream, at, token),
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
                    var e = t.Exception?.InnerException ?? new OperationCanceledException();
                    p.Fail(e is ArgumentException ? e : CommittedElsewhere());
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
        await foreach (var (index, term, write) in _durability.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                _logger.Debug(e, "Raft entry {Index} was refused by the store", index);
            }
            catch (OperationCanceledException)
            {
                // Shutting down before the write was queued: not durable here, and not a failure of the store.
                break;
            }
            catch (Exception e)
            {
                // Not durable: neither it nor anything after it counts as applied here.
                _failed.TrySetResult($"the store failed writing Raft entry {index}: {e.Message}");
                _logger.Error(e, "Cluster: the store failed writing Raft entry {Index}; this member stops applying entries and stays out of elections; fix the store and restart it", index);
                break;
            }

            // Only forward: after an installed copy, the entries this member's own log still held below the copy's index
            // are applied again (skipped by mark) and must not pull the durable index back under what the copy proves.
            if (index > Volatile.Read(ref _durableIndex))
            {
                Volatile.Write(ref _durableIndex, index);
            }

            if (write is Task<Ulid> { IsCompletedSuccessfully: true } stored && stored.Result.CompareTo(_storedTop) > 0)
            {
                _storedTop = stored.Result;
            }

            if (!_durability.Reader.TryPeek(out _))
            {
                WriteApplied(Volatile.Read(ref _durableIndex));
            }

            await CompactAsync(index, term).ConfigureAwait(false);
        }

        WriteApplied(Volatile.Read(ref _durableIndex));
        _appliedFile.Flush(flushToDisk: true);
        while (_durability.Reader.TryRead(out _))
        {
            // After a failure: what is left was never durable here.
        }
    }

    /// <summary>
    /// Compacts the Raft log once the entries durable here pass the last snapshot by <c>--cluster-snapshot-entries</c>: the
    /// snapshot moves to an entry about half that far back (so a follower that lags by less still gets entries, not a whole
    /// store), after an index checkpoint makes everything through it durable whatever <c>--fsync</c> says. The WAL drops
    /// its pages through the snapshot on its next flush. Held while this member serves a store copy
    /// (<see cref="CompactionHeld"/>): the member installing it needs the entries after the copy.
    /// </summary>
    private async Task CompactAsync(long index, long term)
    {
        if (_installRequested.Task.IsCompleted || CompactionHeld())
        {
            return;
        }

        if (_candidate is not { } candidate)
        {
            _candidate = (index, term, _storedTop);
            return;
        }

        if (index - candidate.Index < _keepEntries)
        {
            return;
        }

        _candidate = (index, term, _storedTop);
        if (candidate.Index <= SnapshotIndex || candidate.Index > LastApplied)
        {
            // Not past the last snapshot, or not committed yet (an async leader's store runs ahead of the commit).
            return;
        }

        try
        {
            if (!await CheckpointAsync().ConfigureAwait(false))
            {
                _logger.Warning("Cluster: the store's checkpoint did not complete; the Raft log is not compacted through entry {Index} this time", candidate.Index);
                return;
            }

            if (CompactionHeld())
            {
                // A store copy began while the checkpoint waited (a copy holds the checkpoint gate): the id read now could
                // be past the copy, and the member installing it would then need yet another copy.
                return;
            }

            // Read after the checkpoint: every event through the candidate is in the store durably, so this id (which may
            // be a later one) is one this store held; a store whose last event is below it lost events.
            var lastId = _store.Checksum.LastId;
            if (_ahead.Count > 0)
            {
                // Read after the id: that id may be of a write applied ahead of the commit, which no other store may ever
                // hold. The last event stored by the entries through the candidate is one every store through it holds.
                lastId = candidate.Top;
            }

            // Addresses known now, and those of the previous snapshot (right after a start none are learned yet).
            var sources = Sources().Concat(SnapshotSources()).Distinct(StringComparer.Ordinal).ToList();
            long groupsIndex = Groups?.Registry.LastRaftIndex ?? 0;
            if (Publish(new StoreSnapshot(candidate.Index, candidate.Term, lastId, sources, groupsIndex), install: false))
            {
                _logger.Information("Cluster: Raft log compacted through entry {Index} (term {Term}); entries after it are kept", candidate.Index, candidate.Term);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not compacted this time: the log keeps its entries, nothing else changes (and this loop goes on).
            _logger.Warning("Cluster: compacting the Raft log through entry {Index} failed: {Error}", candidate.Index, e.Message);
        }
    }

    /// <summary>True when the checkpoint was taken (false: the store is read-only or the checkpoint failed).</summary>
    private async Task<bool> CheckpointAsync()
    {
        if (_store is FasterEventStore faster)
        {
            return await faster.TryCheckpointAsync().ConfigureAwait(false);
        }

        await _store.CheckpointAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Records <paramref name="snapshot"/> (and a pending install with it) unless a snapshot at or past its index is
    /// recorded already or an install is pending: the snapshot index only moves forward.
    /// </summary>
    private bool Publish(StoreSnapshot snapshot, bool install)
    {
        lock (_snapshotGate)
        {
            if (snapshot.Index <= SnapshotIndex || (!install && _installRequested.Task.IsCompleted))
            {
                return false;
            }

            if (install)
            {
                snapshot.Save(_raftDirectory, SnapshotInstall.FileName);
            }

            snapshot.Save(_raftDirectory);
            Volatile.Write(ref _snapshot, snapshot);
            if (install)
            {
                _installRequested.TrySetResult();
            }

            return true;
        }
    }

    /// <summary>
    /// Adds client addresses to a pending install's sources (an install recorded before this member learned any, e.g. a
    /// divergence found while the log was replayed at start).
    /// </summary>
    public void AddInstallSources(IReadOnlyList<string> sources)
    {
        lock (_snapshotGate)
        {
            if (StoreSnapshot.Load(_raftDirectory, SnapshotInstall.FileName) is { } install)
            {
                (install with { Sources = [.. install.Sources.Concat(sources).Distinct(StringComparer.Ordinal)] }).Save(_raftDirectory, SnapshotInstall.FileName);
            }
        }
    }

    /// <summary>True while this member serves a store copy, and for a while after (set by the node).</summary>
    public Func<bool> CompactionHeld { get; set; } = () => false;

    private IReadOnlyList<string> SnapshotSources() => Volatile.Read(ref _snapshot)?.Sources ?? [];

    /// <summary>
    /// A snapshot from the leader: this member lacks entries the leader's log no longer has. When its store already holds
    /// everything through the snapshot it only records it; otherwise it records a pending install (a copy of a member's
    /// store, made at the next start of its service, see <see cref="SnapshotInstall"/>) and stops applying.
    /// </summary>
    private async ValueTask<long> ReceiveSnapshotAsync(LogEntry entry, CancellationToken token)
    {
        if (entry.Length is { } length && length > StoreSnapshot.MaxPayloadBytes)
        {
            throw new InvalidDataException($"a Raft snapshot of {length} bytes is not one of ours");
        }

        var bytes = await entry.ToByteArrayAsync(token: token).ConfigureAwait(false);
        if (bytes.Length > StoreSnapshot.MaxPayloadBytes)
        {
            throw new InvalidDataException($"a Raft snapshot of {bytes.Length} bytes is not one of ours");
        }

        var offered = StoreSnapshot.Parse(bytes, entry.Index, entry.Term);
        // Entries applied ahead through the snapshot cannot be checked any more: they may be ones the cluster did not keep.
        if (entry.Index <= DurableIndex && _store.Checksum.LastId.CompareTo(offered.LastEventId) >= 0 && _ahead.LowestIndex > entry.Index)
        {
            // Everything through it is here already (an installed copy that is newer than the leader's snapshot).
            var own = offered with { LastEventId = _store.Checksum.LastId, GroupsIndex = Groups?.Registry.LastRaftIndex ?? 0 };
            Publish(own, install: false);
            Volatile.Write(ref _lastApplied, Math.Max(LastApplied, entry.Index));
            return Math.Max(LastApplied, entry.Index);
        }

        // The sender's list first: it names the sender (the leader) first, the source that keeps the entries after its copy.
        var install = offered with { Sources = [.. offered.Sources.Concat(Sources()).Concat(SnapshotSources()).Distinct(StringComparer.Ordinal)] };
        Volatile.Write(ref _lastApplied, entry.Index);
        if (Publish(install, install: true))
        {
            _logger.Warning(
                "Cluster: this member lacks Raft entries through {Index} that the leader no longer keeps (its store holds entries through {DurableIndex}); it will install a copy of a member's store and restart its service",
                entry.Index, DurableIndex);
        }

        return entry.Index;
    }

    /// <summary>Waits until every applied write is durable and its index recorded.</summary>
    public async Task CompleteAsync()
    {
        _durability.Writer.TryComplete();
        await _durabilityLoop.ConfigureAwait(false);
    }

    ISnapshot? ISnapshotManager.Snapshot => Volatile.Read(ref _snapshot);

    ValueTask ISnapshotManager.ReclaimGarbageAsync(long watermark, CancellationToken token) => ValueTask.CompletedTask;

    public void Dispose()
    {
        _appliedFile.Dispose();
        _ahead.Dispose();
        _applyGate.Dispose();
    }
}
