using System.Globalization;
using NUlid;
using StackExchange.Redis;

namespace EventflowDb.Client;

/// <summary>What to do with an event a consumer could not handle (GROUP NACK).</summary>
public enum NackAction
{
    /// <summary>Deliver it again soon, to any consumer.</summary>
    Retry,

    /// <summary>Move it to the group's parked events.</summary>
    Park,

    /// <summary>Treat it as handled.</summary>
    Skip,
}

/// <summary>A consumer group as GROUP INFO reports it.</summary>
/// <param name="Name">Group name.</param>
/// <param name="Channel">The channel the group follows.</param>
/// <param name="Position">Id of the last event delivered to the group (the zero ULID before the first).</param>
/// <param name="Pending">Events delivered and not yet acknowledged.</param>
/// <param name="Parked">Parked events.</param>
/// <param name="AckTimeout">How long a delivered event may stay unacknowledged before it is delivered again.</param>
/// <param name="MaxDeliveries">Deliveries after which an unacknowledged event is parked.</param>
public sealed record GroupInfo(string Name, string Channel, string Position, long Pending, long Parked, TimeSpan AckTimeout, long MaxDeliveries);

/// <summary>Consumer groups: server-side checkpoints and competing consumers (the GROUP commands).</summary>
public sealed partial class EventflowDbClient
{
    /// <summary>
    /// Creates a consumer group on <paramref name="channel"/> (see <see cref="Channels"/>). It starts after
    /// <paramref name="after"/> (null: from the start of the log) or, when <paramref name="onlyNewEvents"/> is true, with
    /// the events committed after its creation. Null options take the server's defaults (30 s, 10 deliveries).
    /// </summary>
    /// <param name="group">Group name.</param>
    /// <param name="channel">Channel to follow.</param>
    /// <param name="after">Start after this event id; null: from the start.</param>
    /// <param name="onlyNewEvents">Start with the events committed after creation (<c>$</c>).</param>
    /// <param name="ackTimeout">Ack timeout of the group.</param>
    /// <param name="maxDeliveries">Maximum delivery count before an event is parked.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task CreateGroupAsync(string group, string channel, Ulid? after = null, bool onlyNewEvents = false, TimeSpan? ackTimeout = null, int? maxDeliveries = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentException.ThrowIfNullOrEmpty(channel);
        var args = new List<object> { "CREATE", group, channel, onlyNewEvents ? "$" : (after ?? Ulid.Empty).ToString() };
        if (ackTimeout is { } timeout)
        {
            args.Add("ACKTIMEOUT");
            args.Add(((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        }

        if (maxDeliveries is { } max)
        {
            args.Add("MAXDELIVERIES");
            args.Add(max.ToString(CultureInfo.InvariantCulture));
        }

        await ExecuteAsync("GROUP", [.. args], false, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> events for <paramref name="consumer"/>: events whose ack timed out first, then
    /// events not yet delivered to the group. With <paramref name="block"/>, waits that long for one when there is none
    /// (keep it below the connection's asyncTimeout; a blocked read holds up this client's other commands meanwhile).
    /// </summary>
    /// <param name="group">Group name.</param>
    /// <param name="consumer">Consumer name.</param>
    /// <param name="count">Most events to return; 0: the server's default (100).</param>
    /// <param name="block">How long to wait when nothing is available; null: do not wait.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    /// <returns>The events delivered, oldest first; acknowledge each with <see cref="AckAsync"/>.</returns>
    public async Task<IReadOnlyList<RecordedEvent>> ReadGroupAsync(string group, string consumer, int count = 0, TimeSpan? block = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var args = new List<object> { "READ", group, consumer };
        if (count > 0)
        {
            args.Add("COUNT");
            args.Add(count.ToString(CultureInfo.InvariantCulture));
        }

        if (block is { } wait)
        {
            args.Add("BLOCK");
            args.Add(((long)wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        }

        return Events(await ExecuteAsync("GROUP", [.. args], false, null, cancellationToken).ConfigureAwait(false), "GROUP READ");
    }

    /// <summary>Acknowledges events; returns how many of them were pending.</summary>
    /// <param name="group">Group name.</param>
    /// <param name="eventIds">Ids of handled events.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task<long> AckAsync(string group, IEnumerable<Ulid> eventIds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentNullException.ThrowIfNull(eventIds);
        object[] args = ["ACK", group, .. eventIds.Select(id => (object)id.ToString())];
        return args.Length == 2
            ? 0
            : Integer(await ExecuteAsync("GROUP", args, true, null, cancellationToken).ConfigureAwait(false), "GROUP ACK");
    }

    /// <summary>Gives an event back: retry, park or skip it. Returns false when it was not pending.</summary>
    /// <param name="group">Group name.</param>
    /// <param name="eventId">The event's id.</param>
    /// <param name="action">What to do with it.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task<bool> NackAsync(string group, Ulid eventId, NackAction action, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        if (!Enum.IsDefined(action))
        {
            throw new ArgumentOutOfRangeException(nameof(action));
        }

        // The enum names are the wire words: RETRY, PARK, SKIP.
        string word = action.ToString().ToUpperInvariant();
        return Integer(await ExecuteAsync("GROUP", ["NACK", group, eventId.ToString(), word], true, null, cancellationToken).ConfigureAwait(false), "GROUP NACK") == 1;
    }

    /// <summary>The group's parked events, oldest first.</summary>
    /// <param name="group">Group name.</param>
    /// <param name="count">Most events to return; 0: the server's default.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task<IReadOnlyList<RecordedEvent>> GetParkedAsync(string group, int count = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        object[] args = count > 0 ? ["PARKED", group, "COUNT", count.ToString(CultureInfo.InvariantCulture)] : ["PARKED", group];
        return Events(await ExecuteAsync("GROUP", args, true, null, cancellationToken).ConfigureAwait(false), "GROUP PARKED");
    }

    /// <summary>Makes the parked events deliverable again; returns how many were moved back.</summary>
    /// <param name="group">Group name.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task<long> ReplayParkedAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        return Integer(await ExecuteAsync("GROUP", ["REPLAY", group], false, null, cancellationToken).ConfigureAwait(false), "GROUP REPLAY");
    }

    /// <summary>Every consumer group (or the one named) as GROUP INFO reports it.</summary>
    /// <param name="group">A group name; null: all groups.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task<IReadOnlyList<GroupInfo>> GetGroupsAsync(string? group = null, CancellationToken cancellationToken = default)
    {
        object[] args = group is null ? ["INFO"] : ["INFO", group];
        var reply = await ExecuteAsync("GROUP", args, true, null, cancellationToken).ConfigureAwait(false);
        var groups = new List<GroupInfo>();
        foreach (var item in Array(reply, "GROUP INFO"))
        {
            var fields = item.ToDictionary();
            string Field(string name) => fields.TryGetValue(name, out var value) ? (string?)value ?? "" : throw WireFormat.Malformed($"GROUP INFO has no '{name}'", null);
            long Number(string name) => long.Parse(Field(name), CultureInfo.InvariantCulture);
            groups.Add(new GroupInfo(Field("name"), Field("channel"), Field("position"), Number("pending"), Number("parked"), TimeSpan.FromMilliseconds(Number("ack-timeout-ms")), Number("max-deliveries")));
        }

        return groups;
    }

    /// <summary>Deletes a consumer group and its state.</summary>
    /// <param name="group">Group name.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public async Task DeleteGroupAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        await ExecuteAsync("GROUP", ["DELETE", group], false, null, cancellationToken).ConfigureAwait(false);
    }
}
