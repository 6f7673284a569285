using EventflowDb.Protocol;

namespace EventflowDb.Server.Subscriptions;

/// <summary>Redis pub/sub delivery frames: arrays in RESP2, push frames in RESP3.</summary>
internal static class MessageFrames
{
    /// <summary>Writes the frames of one matching event; true when anything was written.</summary>
    public static bool Write(RespWriter writer, Subscription subscription, ReadOnlySpan<byte> eventJson)
    {
        if (!subscription.IsPattern)
        {
            // ["message", channel, json]
            writer.WritePushHeader(3);
            writer.WriteBulkString("message"u8);
            writer.WriteBulkString(subscription.Name);
            writer.WriteBulkString(eventJson);
            return true;
        }

        // ["pmessage", pattern, channel, json] once per channel of the event that the pattern matches, as Redis
        // delivers one pmessage per matching channel published to.
        bool wrote = false;
        foreach (string channel in EventChannels.Of(eventJson))
        {
            if (Commands.GlobPattern.IsMatch(subscription.Name, channel))
            {
                writer.WritePushHeader(4);
                writer.WriteBulkString("pmessage"u8);
                writer.WriteBulkString(subscription.Name);
                writer.WriteBulkString(channel);
                writer.WriteBulkString(eventJson);
                wrote = true;
            }
        }

        return wrote;
    }
}
