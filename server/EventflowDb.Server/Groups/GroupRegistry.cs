using EventflowDb.Server.Commands;
using System.Runtime.CompilerServices;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Groups;

/// <summary>How a negative acknowledgement disposes of a pending event.</summary>
internal enum NackAction
{
    Retry,
    Park,
    Skip,
}

/// <summary>
/// What a cluster member gives the registry: GROUP changes are decided on the leader and carried by the Raft log
/// (<c>Cluster/ReplicatedGroups.cs</c>).
/// </summary>
internal interface IGroupReplication
{
    /// <summary>True while this member leads (a hint: <see cref="BeginDecisionAsync"/> decides).</summary>
    bool IsLeader { get; }

    /// <summary>
    /// Before a decision: throws the READONLY/TRYAGAIN refusal unless this member is the leader, ready for writes, with
    /// every group entry it proposed earlier applied.
    /// </summary>
    Task BeginDecisionAsync();

    /// <summary>Proposes one record as one Raft entry; returns once this member has applied it.</summary>
    Task ProposeAsync(GroupRecord record);
}

/// <summary>
/// Every consumer group, in memory, behind one lock. Every change is a <see cref="GroupRecord"/> made durable in the
/// <see cref="GroupJournal"/> before it is applied, so a reply is only sent once its change is on disk.
/// </summary>
/// <remarks>
/// In a cluster (<see cref="IGroupReplication"/>) the state changes only by applying committed Raft entries
/// (<see cref="ApplyReplicatedAsync"/>, on every member, the leader included). A change is decided on the leader as
/// standalone, under <c>_decide</c> (one decision at a time, held until this member applied the decision's entries, so
/// each decision sees every earlier one); while a record is proposed the state lock is released, so the apply (and
/// reads) can take it. Deadlines are then Unix ms (the leader's wall clock), meaningful on every member.
/// </remarks>
internal sealed class GroupRegistry : IDisposable
{
    /// <summary>Most events one READ examines looking for matches of the group's channel.</summary>
    private const int ScanBudget = 100_000;

    /// <summary>
    /// Most groups the server keeps (SPEC.md v2): each is held in memory, journaled and written whole into every
    /// snapshot, so their number must not grow without bound.
    /// </summary>
    public const int MaxGroups = 10_000;

    private readonly IEventStore _store;
    private readonly GroupJournal _journal;
    private readonly Dictionary<string, ConsumerGroup> _groups;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SemaphoreSlim _decide = new(1, 1);
    private readonly EventPage _page = new();
    private readonly Func<long> _clock;
    private readonly IGroupReplication? _replication;

    public GroupRegistry(IEventStore store, string dataDirectory)
        : this(store, dataDirectory, null, null)
    {
    }

    /// <param name="store">The events the groups deliver.</param>
    /// <param name="dataDirectory">Where the journal and the snapshot are.</param>
    /// <param name="clock">Milliseconds for ack deadlines (<see cref="Environment.TickCount64"/> when null).</param>
    /// <param name="replication">In a cluster: where changes are proposed.</param>
    public GroupRegistry(IEventStore store, string dataDirectory, Func<long>? clock, IGroupReplication? replication)
    {
        _store = store;
        _clock = clock ?? (static () => Environment.TickCount64);
        _replication = replication;
        (_journal, _groups) = GroupJournal.Open(dataDirectory, _clock());
    }

    /// <summary>In a cluster, the index of the last Raft entry applied to the groups durably.</summary>
    public long LastRaftIndex => _journal.LastRaftIndex;

    public async ValueTask CreateAsync(string name, string channel, Ulid? from, long ackTimeoutMs, int maxDeliveries) => await DecideAsync(async () =>
    {
        if (_groups.ContainsKey(name))
        {
            throw CommandException.Syntax($"consumer group '{ErrorText.Excerpt(name)}' already exists");
        }

        if (_groups.Count >= MaxGroups)
        {
            throw CommandException.Syntax($"too many consumer groups (at most {MaxGroups}); delete one first");
        }

        await CommitAsync(new GroupRecord
        {
            Op = GroupOp.Create,
            Group = name,
            Channel = channel,
            Position = from ?? _store.Checksum.LastId,
            AckTimeoutMs = ackTimeoutMs,
            MaxDeliveries = maxDeliveries,
        }).ConfigureAwait(false);
        return true;
    }).ConfigureAwait(false);

    public ValueTask<bool> DeleteAsync(string name) => LockedAsync(name, async g =>
    {
        await CommitAsync(new GroupRecord { Op = GroupOp.Delete, Group = g.Name }).ConfigureAwait(false);
        return true;
    });

    /// <summary>Due redeliveries first, then events of the channel not yet delivered, at most <paramref name="count"/>.</summary>
    public ValueTask<List<byte[]>> ReadAsync(string name, string consumer, int count, long maxBytes = long.MaxValue) => LockedAsync(name, async g =>
    {
        long now = _clock();
        var events = new List<byte[]>();
        var delivered = new List<Ulid>();
        var vanished = new List<Ulid>();
        long bytes = 0;
        bool full = false;
        _page.ByteLimit = long.MaxValue;
        foreach (var id in g.Pending.Where(p => p.Value.DeadlineMs <= now).Select(p => p.Key).ToList())
        {
            if (events.Count >= count)
            {
                break;
            }

            if (await EventLookup.ReadAsync(_store, id, _page).ConfigureAwait(false) is { } json)
            {
                if (events.Count > 0 && bytes + json.Length > maxBytes)
                {
                    // --max-page-bytes: the rest stays due and comes with the next READ.
                    full = true;
                    break;
                }

                bytes += json.Length;
                delivered.Add(id);
                events.Add(json);
            }
            else
            {
                vanished.Add(id);
            }
        }

        var position = g.Position;
        if (events.Count < count && !full && (events.Count == 0 || bytes < maxBytes))
        {
            _page.Clear();

            // The page's first event always fits; after redeliveries only what keeps the reply within the limit.
            _page.ByteLimit = maxBytes - bytes;
            var progress = await _store.ReadAllAsync(position, count - events.Count, _page, g.Filter, ScanBudget).ConfigureAwait(false);
            for (int i = 0; i < _page.Count; i++)
            {
                if (events.Count > 0 && bytes + _page[i].Length > maxBytes)
                {
                    break;
                }

                bytes += _page[i].Length;
                position = EventLookup.IdOf(_page[i]);
                delivered.Add(position);
                events.Add(_page[i].ToArray());
            }

            if (progress.Count == 0 && progress.LastScanned.CompareTo(position) > 0)
            {
                position = progress.LastScanned;
            }
        }

        if (vanished.Count > 0)
        {
            await CommitAsync(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = vanished }).ConfigureAwait(false);
        }

        if (delivered.Count > 0 || position != g.Position || !g.Consumers.Contains(consumer))
        {
            await CommitAsync(new GroupRecord { Op = GroupOp.Deliver, Group = g.Name, Consumer = consumer, Ids = delivered, Position = position }).ConfigureAwait(false);
        }

        return events;
    });

    /// <summary>Acknowledges the pending events among <paramref name="ids"/>; returns how many were pending.</summary>
    public ValueTask<int> AckAsync(string name, IReadOnlyList<Ulid> ids) => LockedAsync(name, async g =>
    {
        List<Ulid> pending = [.. ids.Distinct().Where(g.Pending.ContainsKey)];
        if (pending.Count > 0)
        {
            await CommitAsync(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = pending }).ConfigureAwait(false);
        }

        return pending.Count;
    });

    /// <summary>Returns 1 when the event was pending (and is now disposed of), 0 otherwise.</summary>
    public ValueTask<int> NackAsync(string name, Ulid id, NackAction action) => LockedAsync(name, async g =>
    {
        if (!g.Pending.TryGetValue(id, out var pending))
        {
            return 0;
        }

        switch (action)
        {
            case NackAction.Retry when _replication is null:
                pending.DeadlineMs = _clock(); // deadlines are not persisted: nothing to journal
                break;
            case NackAction.Retry:
                // A follower must redeliver it at the same time should it become the leader.
                await CommitAsync(new GroupRecord { Op = GroupOp.Retry, Group = g.Name, Ids = [id] }).ConfigureAwait(false);
                break;
            case NackAction.Park:
                await CommitAsync(new GroupRecord { Op = GroupOp.Park, Group = g.Name, Ids = [id] }).ConfigureAwait(false);
                break;
            default:
                await CommitAsync(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = [id] }).ConfigureAwait(false);
                break;
        }

        return 1;
    });

    public ValueTask<List<byte[]>> ParkedAsync(string name, int count) => LockedAsync(name, g => ReadParkedAsync(g, count), writes: false);

    /// <summary>
    /// The first <paramref name="count"/> pending events of the group (log order): id, last consumer, deliveries and the
    /// event's JSON (null when it is no longer in the log).
    /// </summary>
    public ValueTask<List<PendingInfo>> PendingAsync(string name, int count) => LockedAsync(
        name,
        async g =>
        {
            var pending = new List<PendingInfo>();
            foreach (var (id, p) in g.Pending.Take(count).ToList())
            {
                pending.Add(new PendingInfo(id, p.Consumer, p.Deliveries, await EventLookup.ReadAsync(_store, id, _page).ConfigureAwait(false)));
            }

            return pending;
        },
        writes: false);

    /// <summary>Makes every parked event pending and due at once, with its delivery count reset. Returns how many.</summary>
    public ValueTask<int> ReplayAsync(string name) => LockedAsync(name, async g =>
    {
        int count = g.Parked.Count;
        if (count > 0)
        {
            await CommitAsync(new GroupRecord { Op = GroupOp.Replay, Group = g.Name }).ConfigureAwait(false);
        }

        return count;
    });

    /// <summary>Snapshots of the named group, or of every group (by name) when <paramref name="name"/> is null.</summary>
    public async ValueTask<List<GroupInfo>> InfoAsync(string? name)
    {
        if (name is not null)
        {
            return [await LockedAsync(name, g => ValueTask.FromResult(GroupInfo.Of(g)), writes: false).ConfigureAwait(false)];
        }

        await ParkEveryExhaustedAsync().ConfigureAwait(false);
        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            return [.. _groups.Values.OrderBy(g => g.Name, StringComparer.Ordinal).Select(GroupInfo.Of)];
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Milliseconds until the group's next ack deadline (null when nothing is pending or the group is gone).</summary>
    public async ValueTask<long?> UntilNextDeadlineAsync(string name)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            if (!_groups.TryGetValue(name, out var g) || g.Pending.Count == 0)
            {
                return null;
            }

            return Math.Max(0, g.NextDeadline() - _clock());
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// In a cluster: applies the record of a committed Raft entry (every member, in log order, the leader included), with
    /// the leader's clock <paramref name="leaderNow"/>. Returns false when the entry is already applied here (a restart
    /// replays the whole Raft log) or cannot apply (logged). Journal first, as standalone: the record carries the entry's
    /// index, so the journal (or its snapshot) says which entries it holds.
    /// </summary>
    public async Task<bool> ApplyReplicatedAsync(long index, long leaderNow, GroupRecord record, Serilog.ILogger logger)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (index <= _journal.LastRaftIndex)
            {
                return false;
            }

            // The leader decided against the same state, so this holds; a record that would not apply is never journaled
            // (its replay would fail at every start).
            bool exists = _groups.ContainsKey(record.Group);
            if ((record.Op == GroupOp.Create && exists) || (record.Op is not GroupOp.Create and not GroupOp.Delete && !exists))
            {
                logger.Warning("Raft entry {Index} ({Op} on group {Group}) does not apply to this member's groups; skipped", index, record.Op, record.Group);
                return false;
            }

            record.Raft = index;
            _journal.Append(record, _groups.Values);
            record.Apply(_groups, leaderNow);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Copies the groups' files (snapshot and journal) into <paramref name="directory"/> under the state lock, which every
    /// journal append holds (standalone and cluster apply alike), so the copy is the groups as of one moment; returns the
    /// bytes copied. Used by SEED after the store's copy, so the groups may be a little newer than the store: both skip,
    /// when Raft entries are applied after the copy, what they already hold.
    /// </summary>
    public async Task<long> CopyFilesAsync(string directory)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            return _journal.CopyTo(directory);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose()
    {
        _journal.Dispose();
        _lock.Dispose();
        _decide.Dispose();
    }

    private async ValueTask<List<byte[]>> ReadParkedAsync(ConsumerGroup g, int count)
    {
        var events = new List<byte[]>();
        foreach (var id in g.Parked.Take(count).ToList())
        {
            if (await EventLookup.ReadAsync(_store, id, _page).ConfigureAwait(false) is { } json)
            {
                events.Add(json);
            }
        }

        return events;
    }

    /// <summary>
    /// Runs <paramref name="body"/> under the state lock: standalone just that; in a cluster also as this leader's one
    /// decision at a time (refused with READONLY/TRYAGAIN on a follower or without a leader).
    /// </summary>
    private async ValueTask<T> DecideAsync<T>(Func<ValueTask<T>> body)
    {
        if (_replication is null)
        {
            await _lock.WaitAsync().ConfigureAwait(false);
            await OffTheNetworkThread();
            try
            {
                return await body().ConfigureAwait(false);
            }
            finally
            {
                _lock.Release();
            }
        }

        await _decide.WaitAsync().ConfigureAwait(false);
        try
        {
            await _replication.BeginDecisionAsync().ConfigureAwait(false);
            await _lock.WaitAsync().ConfigureAwait(false);
            try
            {
                return await body().ConfigureAwait(false);
            }
            finally
            {
                _lock.Release();
            }
        }
        finally
        {
            _decide.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the named group under the lock, after parking its exhausted due events. A read
    /// (<paramref name="writes"/> false) in a cluster parks only on the leader, and serves this member's replicated state
    /// anyway (a follower shows exhausted events as pending until the leader parks them).
    /// </summary>
    private async ValueTask<T> LockedAsync<T>(string name, Func<ConsumerGroup, ValueTask<T>> action, bool writes = true)
    {
        if (writes || _replication is null)
        {
            return await DecideAsync(async () =>
            {
                var group = Find(name);
                await ParkExhaustedAsync(group).ConfigureAwait(false);
                return await action(group).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }

        if (_replication.IsLeader)
        {
            await TryParkAsync(() => ParkExhaustedAsync(Find(name))).ConfigureAwait(false);
        }

        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            return await action(Find(name)).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    private ConsumerGroup Find(string name) =>
        _groups.TryGetValue(name, out var group) ? group : throw CommandException.Syntax($"no such consumer group '{ErrorText.Excerpt(name)}'");

    /// <summary>GROUP INFO of every group first parks every group's exhausted events (in a cluster: on the leader only).</summary>
    private async ValueTask ParkEveryExhaustedAsync()
    {
        if (_replication is not null && !_replication.IsLeader)
        {
            return;
        }

        await TryParkAsync(async () =>
        {
            foreach (var g in _groups.Values.ToList())
            {
                if (_groups.ContainsKey(g.Name))
                {
                    await ParkExhaustedAsync(g).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>A read's parking, as a decision; in a cluster a refusal (leadership just changed) leaves it to the next leader.</summary>
    private async ValueTask TryParkAsync(Func<ValueTask> park)
    {
        try
        {
            await DecideAsync(async () =>
            {
                await park().ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }
        catch (Cluster.ClusterUnavailableException) when (_replication is not null)
        {
        }
    }

    /// <summary>Parks the due pending events of <paramref name="g"/> that have used up their deliveries.</summary>
    private async ValueTask ParkExhaustedAsync(ConsumerGroup g)
    {
        long now = _clock();
        List<Ulid> exhausted = [.. g.Pending.Where(p => p.Value.DeadlineMs <= now && p.Value.Deliveries >= g.MaxDeliveries).Select(p => p.Key)];
        if (exhausted.Count > 0)
        {
            await CommitAsync(new GroupRecord { Op = GroupOp.Park, Group = g.Name, Ids = exhausted }).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Group changes fsync their journal: continue on a pool thread so that the wait never holds up the
    /// network event loop that runs commands (other connections).
    /// </summary>
    private static YieldAwaitable OffTheNetworkThread() => Task.Yield();

    /// <summary>
    /// Standalone: makes the change durable, then applies it. In a cluster (called under <see cref="DecideAsync{T}"/>):
    /// proposes it and returns once this member applied the committed entry; the state lock is released meanwhile,
    /// since the apply takes it.
    /// </summary>
    private async ValueTask CommitAsync(GroupRecord record)
    {
        if (_replication is null)
        {
            _journal.Append(record, _groups.Values);
            record.Apply(_groups, _clock());
            return;
        }

        _lock.Release();
        try
        {
            await _replication.ProposeAsync(record).ConfigureAwait(false);
        }
        finally
        {
            await _lock.WaitAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>What GROUP INFO reports about one group.</summary>
internal sealed record GroupInfo(string Name, string Channel, Ulid Position, int Pending, int Parked, string[] Consumers, long AckTimeoutMs, int MaxDeliveries)
{
    public static GroupInfo Of(ConsumerGroup g) =>
        new(g.Name, g.Channel, g.Position, g.Pending.Count, g.Parked.Count, [.. g.Consumers], g.AckTimeoutMs, g.MaxDeliveries);
}

/// <summary>One pending event of a group: its id, the consumer it was last delivered to, how often, and its JSON.</summary>
internal sealed record PendingInfo(Ulid Id, string Consumer, int Deliveries, byte[]? Json);
