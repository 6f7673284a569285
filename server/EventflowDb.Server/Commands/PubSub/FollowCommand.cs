using EventflowDb.Protocol;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;

namespace EventflowDb.Server.Commands.PubSub;

/// <summary>
/// FOLLOW &lt;channel&gt; &lt;from id&gt;: a SUBSCRIBE whose cursor starts at <c>from id</c> instead of now, so the
/// matching history is delivered first and live events follow through the same cursor (no gap, no duplicate).
/// Confirmed like SUBSCRIBE (<c>["subscribe", channel, count]</c>) so that pub/sub clients accept it; following a
/// channel already subscribed restarts it from the given id.
/// </summary>
internal sealed class FollowCommand() : SyncCommand("FOLLOW", 3, CommandFlags.Subscriber)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        string channel = request.GetString(1);
        var filter = EventChannels.Parse(channel);
        StreamPermissions.CheckChannel(session, channel);
        var from = Arguments.Offset(request[2]);
        SubscriptionLimits.CheckRoomFor(session, pattern: false, [channel]);
        session.Channels.Add(channel);
        session.Pump.Add(channel, isPattern: false, ReadRightsFilter.Live(session.User, filter), from, replace: true);
        SubscriptionCommand.Confirm(session, "subscribe", channel);
    }
}
