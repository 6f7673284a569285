using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;

namespace EventflowDb.Server.Commands.PubSub;

/// <summary>
/// SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE: keep the session's channel and pattern sets, confirm
/// each change as Redis does (push frames in RESP3), and start or stop delivery in the session's pump.
/// A new subscription starts after the last event committed when it is made.
/// </summary>
internal sealed class SubscriptionCommand(string name, bool subscribe, bool pattern)
    : SyncCommand(name, subscribe ? -2 : -1, CommandFlags.Subscriber)
{
    private readonly string _kind = name.ToLowerInvariant();

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var set = pattern ? session.Patterns : session.Channels;
        if (request.Count == 1)
        {
            // UNSUBSCRIBE with no argument: from every channel (or pattern); one confirmation even when there were none.
            var names = set.ToList();
            if (names.Count == 0)
            {
                Confirm(session, _kind, null);
            }

            foreach (string n in names)
            {
                set.Remove(n);
                session.Pump.Remove(n, pattern);
                Confirm(session, _kind, n);
            }

            return;
        }

        // Every name is checked before any is subscribed, so that a refused request changes nothing.
        var channels = new List<string>(request.Count - 1);
        for (int i = 1; i < request.Count; i++)
        {
            if (pattern && subscribe)
            {
                GlobPattern.CheckLength(request[i]);
            }

            channels.Add(request.GetString(i));
            if (subscribe && pattern)
            {
                StreamPermissions.CheckPattern(session, channels[^1]);
            }
            else if (subscribe)
            {
                StreamPermissions.CheckChannel(session, channels[^1]);
            }
        }

        if (subscribe)
        {
            SubscriptionLimits.CheckRoomFor(session, pattern, channels);
        }

        var now = session.Store.Checksum.LastId;
        foreach (string channel in channels)
        {
            if (subscribe)
            {
                set.Add(channel);
                var filter = ReadRightsFilter.Live(session.User, pattern ? new PatternFilter(channel) : EventChannels.ForChannel(channel));
                session.Pump.Add(channel, pattern, filter, now, replace: false);
            }
            else
            {
                set.Remove(channel);
                session.Pump.Remove(channel, pattern);
            }

            Confirm(session, _kind, channel);
        }
    }

    /// <summary>Writes <c>[kind, channel, subscription count]</c>.</summary>
    public static void Confirm(ClientSession session, string kind, string? channel)
    {
        var writer = session.Writer;
        writer.WritePushHeader(3);
        writer.WriteBulkString(kind);
        if (channel is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.WriteBulkString(channel);
        }

        writer.WriteInteger(session.Channels.Count + session.Patterns.Count);
    }
}
