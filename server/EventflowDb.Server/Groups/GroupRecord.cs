using System.Text.Json;
using EventflowDb.Server.Subscriptions;
using NUlid;

namespace EventflowDb.Server.Groups;

/// <summary>What a journal record does to the groups.</summary>
internal enum GroupOp
{
    /// <summary>A new group (name, channel, position, options).</summary>
    Create,

    /// <summary>The group is gone.</summary>
    Delete,

    /// <summary>The ids were delivered to the consumer (new ones become pending, pending ones count one more delivery); the position moves.</summary>
    Deliver,

    /// <summary>The ids leave the pending set (ACK, NACK SKIP).</summary>
    Drop,

    /// <summary>The ids move from pending to parked.</summary>
    Park,

    /// <summary>Every parked id becomes pending again, due at once, with no delivery counted.</summary>
    Replay,

    /// <summary>
    /// The pending ids become due at once (NACK RETRY). Only a cluster journals it (a standalone server sets the
    /// deadline in memory: deadlines are not persisted); a follower needs it to redeliver at the same time.
    /// </summary>
    Retry,
}

/// <summary>
/// One change to the consumer groups: the unit of the journal (one JSON line each) and the only way the live
/// state changes, so that replaying the journal rebuilds exactly what was acknowledged to clients.
/// </summary>
internal sealed class GroupRecord
{
    public GroupOp Op { get; init; }

    public required string Group { get; init; }

    public long Seq { get; set; }

    /// <summary>In a cluster, the index of the Raft entry that carried the record (0 standalone).</summary>
    public long Raft { get; set; }

    public string Channel { get; init; } = string.Empty;

    public string Consumer { get; init; } = string.Empty;

    public Ulid Position { get; init; }

    public long AckTimeoutMs { get; init; }

    public int MaxDeliveries { get; init; }

    public IReadOnlyList<Ulid> Ids { get; init; } = [];

    /// <summary>
    /// Applies the record; <paramref name="now"/> sets new ack deadlines: <see cref="Environment.TickCount64"/>
    /// standalone, the leader's wall clock (Unix ms) carried in the Raft entry in a cluster.
    /// </summary>
    public void Apply(Dictionary<string, ConsumerGroup> groups, long now)
    {
        if (Op == GroupOp.Create)
        {
            var filter = EventChannels.ForChannel(Channel) ?? throw new InvalidDataException($"bad channel {Channel}");
            groups[Group] = new ConsumerGroup(Group, Channel, filter, Position, AckTimeoutMs, MaxDeliveries);
            return;
        }

        if (Op == GroupOp.Delete)
        {
            groups.Remove(Group);
            return;
        }

        var g = groups[Group];
        switch (Op)
        {
            case GroupOp.Deliver:
                g.Consumers.Add(Consumer);
                foreach (var id in Ids)
                {
                    if (g.Pending.TryGetValue(id, out var pending))
                    {
                        pending.Deliveries++;
                        pending.DeadlineMs = now + g.AckTimeoutMs;
                        pending.Consumer = Consumer;
                    }
                    else
                    {
                        g.Pending[id] = new PendingEvent(1, now + g.AckTimeoutMs, Consumer);
                    }
                }

                if (Position.CompareTo(g.Position) > 0)
                {
                    g.Position = Position;
                }

                break;
            case GroupOp.Drop:
                foreach (var id in Ids)
                {
                    g.Pending.Remove(id);
                }

                break;
            case GroupOp.Park:
                foreach (var id in Ids)
                {
                    g.Pending.Remove(id);
                    g.Parked.Add(id);
                }

                break;
            case GroupOp.Retry:
                foreach (var id in Ids)
                {
                    if (g.Pending.TryGetValue(id, out var due))
                    {
                        due.DeadlineMs = now;
                    }
                }

                break;
            default:
                foreach (var id in g.Parked)
                {
                    g.Pending[id] = new PendingEvent(0, now, string.Empty);
                }

                g.Parked.Clear();
                break;
        }
    }

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteNumber("seq", Seq);
        if (Raft > 0)
        {
            json.WriteNumber("raft", Raft);
        }

        json.WriteString("op", Op.ToString());
        json.WriteString("group", Group);
        if (Op == GroupOp.Create)
        {
            json.WriteString("channel", Channel);
            json.WriteNumber("ackTimeoutMs", AckTimeoutMs);
            json.WriteNumber("maxDeliveries", MaxDeliveries);
        }

        if (Op is GroupOp.Create or GroupOp.Deliver)
        {
            json.WriteString("position", Position.ToString());
        }

        if (Op == GroupOp.Deliver)
        {
            json.WriteString("consumer", Consumer);
        }

        json.WriteStartArray("ids");
        foreach (var id in Ids)
        {
            json.WriteStringValue(id.ToString());
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static GroupRecord Read(JsonElement e) => new()
    {
        Seq = e.GetProperty("seq").GetInt64(),
        Raft = e.TryGetProperty("raft", out var raft) ? raft.GetInt64() : 0,
        Op = Enum.Parse<GroupOp>(e.GetProperty("op").GetString()!),
        Group = e.GetProperty("group").GetString()!,
        Channel = e.TryGetProperty("channel", out var channel) ? channel.GetString()! : string.Empty,
        AckTimeoutMs = e.TryGetProperty("ackTimeoutMs", out var timeout) ? timeout.GetInt64() : 0,
        MaxDeliveries = e.TryGetProperty("maxDeliveries", out var max) ? max.GetInt32() : 0,
        Position = e.TryGetProperty("position", out var position) ? Ulid.Parse(position.GetString()) : Ulid.Empty,
        Consumer = e.TryGetProperty("consumer", out var consumer) ? consumer.GetString()! : string.Empty,
        Ids = [.. e.GetProperty("ids").EnumerateArray().Select(i => Ulid.Parse(i.GetString()))],
    };
}
