using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.PubSub;

/// <summary>
/// The per-connection subscription limit (SPEC.md v2): channels, patterns and FOLLOWs together. Each subscription costs
/// a cursor and a read per delivery round, so one connection must not be able to hold an unbounded number of them.
/// </summary>
internal static class SubscriptionLimits
{
    public const int MaxPerConnection = 10_000;

    /// <summary>
    /// Throws <c>ERR too many subscriptions</c> when subscribing to <paramref name="names"/> would take the connection over
    /// the limit; names it already follows, and repeats within the request, do not count. Checked before anything is
    /// subscribed, so a refused request changes nothing.
    /// </summary>
    public static void CheckRoomFor(ClientSession session, bool pattern, IReadOnlyList<string> names)
    {
        int current = session.Channels.Count + session.Patterns.Count;
        if (current + names.Count <= MaxPerConnection)
        {
            return;
        }

        var existing = pattern ? session.Patterns : session.Channels;
        var added = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            if (!existing.Contains(name) && added.Add(name) && current + added.Count > MaxPerConnection)
            {
                throw new CommandException($"ERR too many subscriptions (at most {MaxPerConnection} per connection)");
            }
        }
    }
}
