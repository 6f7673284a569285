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
/// Every consumer group, in memory, behind one lock. Every change is a <see cref="GroupRecord"/> made durable in the
/// <see cref="GroupJournal"/> before it is applied, so a reply is only sent once its change is on disk.
/// </summary>
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
    private readonly EventPage _page = new();

    public GroupRegistry(IEventStore store, string dataDirectory)
    {
        _store = store;
        (_journal, _groups) = GroupJournal.Open(dataDirectory, Environment.TickCount64);
    }

    public async ValueTask CreateAsync(string name, string channel, Ulid? from, long ackTimeoutMs, int maxDeliveries)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            if (_groups.ContainsKey(name))
            {
                throw CommandException.Syntax($"consumer group '{ErrorText.Excerpt(name)}' already exists");
            }

            if (_groups.Count >= MaxGroups)
            {
                throw CommandException.Syntax($"too many consumer groups (at most {MaxGroups}); delete one first");
            }

            Commit(new GroupRecord
            {
                Op = GroupOp.Create,
                Group = name,
                Channel = channel,
                Position = from ?? _store.Checksum.LastId,
                AckTimeoutMs = ackTimeoutMs,
                MaxDeliveries = maxDeliveries,
            });
        }
        finally
        {
            _lock.Release();
        }
    }

    public ValueTask<bool> DeleteAsync(string name) => LockedAsync(name, g =>
    {
        Commit(new GroupRecord { Op = GroupOp.Delete, Group = g.Name });
        return ValueTask.FromResult(true);
    });

    /// <summary>Due redeliveries first, then events of the channel not yet delivered, at most <paramref name="count"/>.</summary>
    public ValueTask<List<byte[]>> ReadAsync(string name, string consumer, int count, long maxBytes = long.MaxValue) => LockedAsync(name, async g =>
    {
        long now = Environment.TickCount64;
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
            Commit(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = vanished });
        }

        if (delivered.Count > 0 || position != g.Position || !g.Consumers.Contains(consumer))
        {
            Commit(new GroupRecord { Op = GroupOp.Deliver, Group = g.Name, Consumer = consumer, Ids = delivered, Position = position });
        }

        return events;
    });

    /// <summary>Acknowledges the pending events among <paramref name="ids"/>; returns how many were pending.</summary>
    public ValueTask<int> AckAsync(string name, IReadOnlyList<Ulid> ids) => LockedAsync(name, g =>
    {
        List<Ulid> pending = [.. ids.Distinct().Where(g.Pending.ContainsKey)];
        if (pending.Count > 0)
        {
            Commit(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = pending });
        }

        return ValueTask.FromResult(pending.Count);
    });

    /// <summary>Returns 1 when the event was pending (and is now disposed of), 0 otherwise.</summary>
    public ValueTask<int> NackAsync(string name, Ulid id, NackAction action) => LockedAsync(name, g =>
    {
        if (!g.Pending.TryGetValue(id, out var pending))
        {
            return ValueTask.FromResult(0);
        }

        switch (action)
        {
            case NackAction.Retry:
                pending.DeadlineMs = Environment.TickCount64; // deadlines are not persisted: nothing to journal
                break;
            case NackAction.Park:
                Commit(new GroupRecord { Op = GroupOp.Park, Group = g.Name, Ids = [id] });
                break;
            default:
                Commit(new GroupRecord { Op = GroupOp.Drop, Group = g.Name, Ids = [id] });
                break;
        }

        return ValueTask.FromResult(1);
    });

    public ValueTask<List<byte[]>> ParkedAsync(string name, int count) => LockedAsync(name, g => ReadParkedAsync(g, count));

    /// <summary>
    /// The first <paramref name="count"/> pending events of the group (log order): id, last consumer, deliveries and the
    /// event's JSON (null when it is no longer in the log).
    /// </summary>
    public ValueTask<List<PendingInfo>> PendingAsync(string name, int count) => LockedAsync(name, async g =>
    {
        var pending = new List<PendingInfo>();
        foreach (var (id, p) in g.Pending.Take(count).ToList())
        {
            pending.Add(new PendingInfo(id, p.Consumer, p.Deliveries, await EventLookup.ReadAsync(_store, id, _page).ConfigureAwait(false)));
        }

        return pending;
    });

    /// <summary>Makes every parked event pending and due at once, with its delivery count reset. Returns how many.</summary>
    public ValueTask<int> ReplayAsync(string name) => LockedAsync(name, g =>
    {
        int count = g.Parked.Count;
        if (count > 0)
        {
            Commit(new GroupRecord { Op = GroupOp.Replay, Group = g.Name });
        }

        return ValueTask.FromResult(count);
    });

    /// <summary>Snapshots of the named group, or of every group (by name) when <paramref name="name"/> is null.</summary>
    public async ValueTask<List<GroupInfo>> InfoAsync(string? name)
    {
        if (name is not null)
        {
            return [await LockedAsync(name, g => ValueTask.FromResult(GroupInfo.Of(g))).ConfigureAwait(false)];
        }

        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            foreach (var g in _groups.Values.ToList())
            {
                ParkExhausted(g);
            }

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

            return Math.Max(0, g.NextDeadline() - Environment.TickCount64);
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
    }

    private async ValueTask<List<byte[]>> ReadParkedAsync(ConsumerGroup g, int count)
    {
        var events = new List<byte[]>();
        foreach (var id in g.Parked.Take(count))
        {
            if (await EventLookup.ReadAsync(_store, id, _page).ConfigureAwait(false) is { } json)
            {
                events.Add(json);
            }
        }

        return events;
    }

    /// <summary>Runs <paramref name="action"/> on the named group under the lock, after parking its exhausted due events.</summary>
    private async ValueTask<T> LockedAsync<T>(string name, Func<ConsumerGroup, ValueTask<T>> action)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        await OffTheNetworkThread();
        try
        {
            if (!_groups.TryGetValue(name, out var group))
            {
                throw CommandException.Syntax($"no such consumer group '{ErrorText.Excerpt(name)}'");
            }

            ParkExhausted(group);
            return await action(group).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Parks the due pending events of <paramref name="g"/> that have used up their deliveries.</summary>
    private void ParkExhausted(ConsumerGroup g)
    {
        long now = Environment.TickCount64;
        List<Ulid> exhausted = [.. g.Pending.Where(p => p.Value.DeadlineMs <= now && p.Value.Deliveries >= g.MaxDeliveries).Select(p => p.Key)];
        if (exhausted.Count > 0)
        {
            Commit(new GroupRecord { Op = GroupOp.Park, Group = g.Name, Ids = exhausted });
        }
    }

    /// <summary>
    /// Group changes fsync their journal: continue on a pool thread so that the wait never holds up the
    /// network event loop that runs commands (other connections).
    /// </summary>
    private static YieldAwaitable OffTheNetworkThread() => Task.Yield();

    /// <summary>Makes the change durable, then applies it.</summary>
    private void Commit(GroupRecord record)
    {
        _journal.Append(record, _groups.Values);
        record.Apply(_groups, Environment.TickCount64);
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
