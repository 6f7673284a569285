using System.Threading.Channels;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using EventflowDb.Storage;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// The leader's proposals, batched: a write is stamped and queued under one lock, and one loop appends what is queued
/// as a single Raft entry, forces its replication round and takes the next batch once that round is over. So the
/// writes that arrive while an entry is being replicated share the next entry: one WAL append, one AppendEntries
/// payload, one follower sync and one apply call for all of them, instead of one each. Under <c>--replication async</c>
/// the loop applies each entry to this member's store ahead of the commit instead of waiting for its round, and
/// <see cref="PumpReplicationAsync"/> runs the rounds.
/// </summary>
internal sealed partial class ClusterNode
{
    /// <summary>Most commands in one Raft entry.</summary>
    private const int MaxBatchCommands = 1024;

    /// <summary>About the most bytes of commands in one entry (a bigger single command goes alone).</summary>
    private const int MaxBatchBytes = 256 * 1024;

    private readonly Lock _queueGate = new();
    private readonly Channel<Proposal> _proposals = Channel.CreateUnbounded<Proposal>(new UnboundedChannelOptions { SingleReader = true });
    private Task _proposalLoop = Task.CompletedTask;
    private readonly Channel<bool> _replicationWanted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private Task _replicationPump = Task.CompletedTask;
    private Task _aheadCheck = Task.CompletedTask;
    private long _entriesProposed;
    private long _writesProposed;

    /// <summary>Raft entries this member appended as leader (INFO cluster; writes per entry = the batching achieved).</summary>
    public long EntriesProposed => Volatile.Read(ref _entriesProposed);

    /// <summary>Writes those entries carried.</summary>
    public long WritesProposed => Volatile.Read(ref _writesProposed);

    /// <summary>A stamped, encoded write waiting for the loop, with the leadership it was stamped under.</summary>
    private sealed class Proposal(Leadership lead, byte[] content, bool alone, StoreStateMachine.Pending pending)
    {
        private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;

        public Leadership Lead => lead;

        public byte[] Content => content;

        /// <summary>Group records go in an entry of their own: the groups' journal identifies them by the entry's index.</summary>
        public bool Alone => alone;

        public StoreStateMachine.Pending Pending => pending;

        /// <summary>Completes once the loop appended it or gave it up, so that the WAL's last index covers it.</summary>
        public Task Settled => _settled.Task;

        /// <summary>The loop takes it for an entry; false when its writer gave up first.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        /// <summary>The writer gives up; true when the loop had not taken it, so it is never appended.</summary>
        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;

        public void Settle() => _settled.TrySetResult();
    }

    /// <summary>
    /// Proposes a write (leader only) and returns this member's result of applying it: after a majority holds the entry
    /// carrying it and this member applied it (under async replication: once this member's store holds it).
    /// </summary>
    public async Task<object> ProposeAsync(Func<UlidGenerator, long, ReplicatedCommand> build, CancellationToken token)
    {
        var lead = await EnsureWritableAsync(token).ConfigureAwait(false);
        var pending = new StoreStateMachine.Pending(lead.Term);
        Proposal proposal;
        lock (_queueGate)
        {
            if (!ReferenceEquals(Volatile.Read(ref _leadership), lead) || lead.Token.IsCancellationRequested || WalTerm != lead.Term)
            {
                throw ClusterUnavailableException.NoLeader("leadership changed");
            }

            // Stamped and queued under one lock, and the loop appends the queue in order: marks and ids increase in log
            // order.
            var command = build(lead.Stamps, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            proposal = new Proposal(lead, command.Encode(), command.Kind == ReplicatedKind.Group, pending);
            if (!_proposals.Writer.TryWrite(proposal))
            {
                throw ClusterUnavailableException.NoLeader("the member is stopping");
            }
        }

        using var lost = CancellationTokenSource.CreateLinkedTokenSource(token, lead.Token);
        try
        {
            return await pending.Outcome.WaitAsync(TimeSpan.FromSeconds(10), lost.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            if (proposal.TryAbandon())
            {
                // Never appended, and now never will be.
                if (token.IsCancellationRequested)
                {
                    throw;
                }

                throw ClusterUnavailableException.NoLeader("leadership was lost before the write was proposed; it was not stored, retry it");
            }

            // Appended (or about to be): wait for the append, so that the WAL's last index covers it for the caller.
            await proposal.Settled.ConfigureAwait(false);
            if (pending.Outcome.IsCompletedSuccessfully)
            {
                return pending.Outcome.Result;
            }

            if (token.IsCancellationRequested)
            {
                throw;
            }

            // Committed or not is unknown: the client retries (with message ids an ADD is stored once).
            _logger.Debug("Cluster: the outcome of a proposal is unknown ({Error})", e.Message);
            throw ClusterUnavailableException.NoLeader("leadership was lost before the write was committed; its outcome is unknown, retry it (with message ids it is stored once)");
        }
    }

    /// <summary>Appends the queued proposals as entries, one replication round each, until the member stops.</summary>
    private async Task ProposeBatchesAsync()
    {
        var reader = _proposals.Reader;
        var batch = new List<Proposal>();
        Proposal? carried = null;
        try
        {
            while (carried is not null || await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                int bytes = 0;
                while (batch.Count < MaxBatchCommands)
                {
                    var next = carried;
                    carried = null;
                    if (next is null)
                    {
                        if (!reader.TryRead(out next))
                        {
                            break;
                        }

                        if (!next.TryTake())
                        {
                            next.Settle();
                            continue;
                        }
                    }

                    if (batch.Count > 0 && (next.Alone || !ReferenceEquals(next.Lead, batch[0].Lead) || bytes + next.Content.Length > MaxBatchBytes))
                    {
                        carried = next;
                        break;
                    }

                    batch.Add(next);
                    bytes += next.Content.Length;
                    if (next.Alone)
                    {
                        break;
                    }
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                var leadership = batch[0].Lead;
                bool alone = batch[0].Alone;
                var appended = await AppendAsync(batch).ConfigureAwait(false);
                batch.Clear();
                if (appended is null)
                {
                    continue;
                }

                if (_options.AsyncReplication && !alone)
                {
                    // Async: the round goes out beside this loop, and the writers are answered once this member's store
                    // holds the entry (group entries wait for their commit: their journal names entries by committed index).
                    _replicationWanted.Writer.TryWrite(true);
                    await ApplyAheadAsync(appended.Value, leadership).ConfigureAwait(false);
                    continue;
                }

                // The next batch gathers while this round runs; DotNext sends everything appended since the last round.
                try
                {
                    await _cluster.ForceReplicationAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!_stopping.IsCancellationRequested)
                {
                    // Lost leadership (NotLeaderException): the entry may still commit under the next leader; its writers'
                    // waits tell. Nothing may end this loop but stopping: the member would take no write again.
                    _logger.Debug("Cluster: forcing replication failed ({Error})", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }

        // Stopping: what is still queued was never appended.
        var stopped = ClusterUnavailableException.NoLeader("the member is stopping; the write was not stored, retry it");
        foreach (var p in batch)
        {
            Drop(p, stopped);
        }

        if (carried is not null)
        {
            Drop(carried, stopped);
        }

        while (reader.TryRead(out var p))
        {
            Drop(p, stopped);
        }
    }

    /// <summary>An appended entry: what the leader applies ahead of the commit under async replication.</summary>
    private readonly record struct AppendedEntry(long Index, long Term, byte[] Content, object Context);

    private async Task ApplyAheadAsync(AppendedEntry entry, Leadership lead)
    {
        try
        {
            using var ends = CancellationTokenSource.CreateLinkedTokenSource(lead.Token, _stopping.Token);
            await _machine.ApplyAheadAsync(entry.Index, entry.Term, entry.Content, entry.Context, ends.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Leadership lost before the entries before it were applied: its commit (if any) answers its writers.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not recorded: its commit applies it and answers its writers, as under sync. Recorded but not wholly applied:
            // the state machine has already asked for a store copy.
            _logger.Warning(e, "Cluster: applying Raft entry {Index} ahead of the majority failed", entry.Index);
        }
    }

    /// <summary>
    /// Twice a second while entries applied ahead are unchecked: those at or below DotNext's applied index were committed
    /// as entries without payload (a new leader's no-op), which <see cref="StoreStateMachine.ApplyAsync"/> never sees.
    /// </summary>
    private async Task CheckAheadAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    if (_machine.AheadEntries > 0)
                    {
                        await _machine.CheckAheadThroughAsync(_wal.LastAppliedIndex, _stopping.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    // Checked again at the next tick; this loop must not end (nor fail the member's stop).
                    _logger.Warning("Cluster: checking the entries applied ahead failed: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Async replication: forces a replication round whenever entries were appended since the last one began.</summary>
    private async Task PumpReplicationAsync()
    {
        var wanted = _replicationWanted.Reader;
        try
        {
            while (await wanted.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                wanted.TryRead(out _);
                try
                {
                    await _cluster.ForceReplicationAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!_stopping.IsCancellationRequested)
                {
                    _logger.Debug("Cluster: forcing replication failed ({Error})", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private static void Drop(Proposal p, Exception reason)
    {
        p.TryTake();
        p.Pending.Fail(reason);
        p.Settle();
    }

    /// <summary>
    /// Appends one entry for <paramref name="batch"/> (all of one leadership) with that leadership's own term, never the
    /// WAL's current one (see LeadershipTermAsync); null when it was not appended (its writers are told).
    /// </summary>
    private async Task<AppendedEntry?> AppendAsync(List<Proposal> batch)
    {
        var lead = batch[0].Lead;
        await _proposeLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(Volatile.Read(ref _leadership), lead) || lead.Token.IsCancellationRequested || WalTerm != lead.Term)
            {
                var changed = ClusterUnavailableException.NoLeader("leadership changed before the write was proposed; it was not stored, retry it");
                foreach (var p in batch)
                {
                    p.Pending.Fail(changed);
                }

                return null;
            }

            byte[] content;
            object context;
            if (batch.Count == 1)
            {
                // A single command is its own entry, as before batching.
                content = batch[0].Content;
                context = batch[0].Pending;
            }
            else
            {
                var commands = new byte[batch.Count][];
                var pendings = new StoreStateMachine.Pending[batch.Count];
                for (int i = 0; i < batch.Count; i++)
                {
                    commands[i] = batch[i].Content;
                    pendings[i] = batch[i].Pending;
                }

                content = ReplicatedBatch.Encode(commands);
                context = pendings;
            }

            // Given up if the leadership ends while the append waits for the WAL's lock: otherwise a stall spanning a
            // re-election of this member would put this term's entry after the next term's no-op.
            var entry = new BinaryLogEntry { Content = content, Term = lead.Term, Context = context };
            long index = await _wal.AppendAsync(entry, lead.Token).ConfigureAwait(false);
            Volatile.Write(ref _entriesProposed, _entriesProposed + 1);
            Volatile.Write(ref _writesProposed, _writesProposed + batch.Count);
            return new AppendedEntry(index, lead.Term, content, context);
        }
        catch (OperationCanceledException) when (lead.Token.IsCancellationRequested)
        {
            var changed = ClusterUnavailableException.NoLeader("leadership was lost before the write was proposed; its outcome is unknown, retry it (with message ids it is stored once)");
            foreach (var p in batch)
            {
                p.Pending.Fail(changed);
            }

            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.Warning(e, "Cluster: appending a Raft entry of {Count} writes failed", batch.Count);
            var unknown = ClusterUnavailableException.NoLeader($"appending the write to the Raft log failed ({e.Message}); its outcome is unknown, retry it (with message ids it is stored once)");
            foreach (var p in batch)
            {
                p.Pending.Fail(unknown);
            }

            return null;
        }
        finally
        {
            _proposeLock.Release();
            foreach (var p in batch)
            {
                p.Settle();
            }
        }
    }
}
