using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Subscriptions;

/// <summary>
/// One channel or pattern a connection follows. <see cref="Cursor"/> is the id of the last event examined
/// for it: everything after it is still to be delivered, which is all the state delivery needs.
/// </summary>
internal sealed class Subscription(string name, bool isPattern, IEventFilter? filter, Ulid cursor)
{
    public string Name { get; } = name;

    public bool IsPattern { get; } = isPattern;

    /// <summary>Null for a channel name that no event is published on: nothing to read.</summary>
    public IEventFilter? Filter { get; } = filter;

    public Ulid Cursor { get; set; } = cursor;
}
