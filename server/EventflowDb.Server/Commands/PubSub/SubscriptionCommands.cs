using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.PubSub;

/// <summary>
/// SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE: keep the session's channel and pattern sets and
/// confirm each change as Redis does (push frames in RESP3). Event delivery on these channels comes
/// with the subscriptions feature; until then a subscription simply receives nothing.
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
                Confirm(session, null);
            }

            foreach (string n in names)
            {
                set.Remove(n);
                Confirm(session, n);
            }

            return;
        }

        for (int i = 1; i < request.Count; i++)
        {
            string channel = request.GetString(i);
            if (subscribe)
            {
                set.Add(channel);
            }
            else
            {
                set.Remove(channel);
            }

            Confirm(session, channel);
        }
    }

    private void Confirm(ClientSession session, string? channel)
    {
        var writer = session.Writer;
        writer.WritePushHeader(3);
        writer.WriteBulkString(_kind);
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
