using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>A pub/sub delivery frame: <c>message</c> (no pattern) or <c>pmessage</c>.</summary>
public sealed record Delivery(string Kind, string? Pattern, string Channel, StoredEvent Event);

/// <summary>Reads pub/sub frames (RESP2 arrays or RESP3 pushes) from a raw connection.</summary>
public static class Frames
{
    /// <summary>Reads the next frame as a string list (bulk strings and integers as text).</summary>
    public static async Task<List<string?>> ReadFrameAsync(this RespConnection connection, TimeSpan? timeout = null)
    {
        var value = await connection.ReadReplyAsync(timeout);
        Assert.True(value.Type is RespType.Array or RespType.Push, $"expected a pub/sub frame, got {RespText.Describe(value)}");
        return [.. value.Items.Select(i => i.Type == RespType.Integer ? i.Integer.ToString(System.Globalization.CultureInfo.InvariantCulture) : i.Text)];
    }

    /// <summary>Reads the next frame, which must be a message or pmessage.</summary>
    public static async Task<Delivery> ReadDeliveryAsync(this RespConnection connection, TimeSpan? timeout = null)
    {
        var frame = await connection.ReadFrameAsync(timeout);
        return frame switch
        {
            ["message", var channel, var json] => new Delivery("message", null, channel!, StoredEvent.Parse(json!)),
            ["pmessage", var pattern, var channel, var json] => new Delivery("pmessage", pattern, channel!, StoredEvent.Parse(json!)),
            _ => throw new Xunit.Sdk.XunitException($"expected a message frame, got [{string.Join(", ", frame)}]"),
        };
    }

    /// <summary>Reads <paramref name="count"/> deliveries.</summary>
    public static async Task<List<Delivery>> ReadDeliveriesAsync(this RespConnection connection, int count, TimeSpan? timeout = null)
    {
        var deliveries = new List<Delivery>(count);
        for (int i = 0; i < count; i++)
        {
            deliveries.Add(await connection.ReadDeliveryAsync(timeout));
        }

        return deliveries;
    }

    /// <summary>Sends a subscription command and reads its confirmations, one per channel.</summary>
    public static async Task SubscribeAsync(this RespConnection connection, string command, params string[] channels)
    {
        await connection.SendCommandAsync([command, .. channels]);
        foreach (string channel in channels)
        {
            var frame = await connection.ReadFrameAsync();
            Assert.Equal(channel, frame[1]);
        }
    }

    /// <summary>Sends a command and reads its reply as a frame.</summary>
    public static async Task<List<string?>> ReadFrameAfterAsync(this RespConnection connection, params string[] command)
    {
        await connection.SendCommandAsync(command);
        return await connection.ReadFrameAsync();
    }

    /// <summary>Sends FOLLOW and reads its confirmation.</summary>
    public static async Task FollowAsync(this RespConnection connection, string channel, string from)
    {
        var frame = await connection.ReadFrameAfterAsync("FOLLOW", channel, from);
        Assert.Equal(["subscribe", channel], frame.Take(2));
    }
}
