using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Groups;

/// <summary>
/// One consumer group's state: the channel it follows, its position (the last event delivered for the first
/// time), the events delivered but not yet acknowledged, and the parked events.
/// </summary>
internal sealed class ConsumerGroup(string name, string channel, IEventFilter filter, Ulid position, long ackTimeoutMs, int maxDeliveries)
{
    public string Name { get; } = name;

    public string Channel { get; } = channel;

    public IEventFilter Filter { get; } = filter;

    public Ulid Position { get; set; } = position;

    public long AckTimeoutMs { get; } = ackTimeoutMs;

    public int MaxDeliveries { get; } = maxDeliveries;

    /// <summary>Delivered, not acknowledged, by event id (log order).</summary>
    public SortedDictionary<Ulid, PendingEvent> Pending { get; } = [];

    /// <summary>Parked event ids (log order).</summary>
    public SortedSet<Ulid> Parked { get; } = [];

    /// <summary>Every consumer name that has read from the group.</summary>
    public SortedSet<string> Consumers { get; } = new(StringComparer.Ordinal);

    /// <summary>Earliest ack deadline among pending events (<see cref="long.MaxValue"/> when none).</summary>
    public long NextDeadline() => Pending.Count == 0 ? long.MaxValue : Pending.Values.Min(p => p.DeadlineMs);
}

/// <summary>A delivered event awaiting its acknowledgement.</summary>
internal sealed class PendingEvent(int deliveries, long deadlineMs, string consumer)
{
    /// <summary>How many times it has been delivered.</summary>
    public int Deliveries { get; set; } = deliveries;

    /// <summary>When (<see cref="Environment.TickCount64"/>, ms) it becomes due for redelivery. Not persisted.</summary>
    public long DeadlineMs { get; set; } = deadlineMs;

    /// <summary>The consumer it was last delivered to.</summary>
    public string Consumer { get; set; } = consumer;
}
