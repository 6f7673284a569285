using System.Diagnostics;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>SUBSCRIBE / PSUBSCRIBE delivery through StackExchange.Redis, redis-cli and raw sockets.</summary>
public sealed class PushSubscriptionTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_ISubscriber_receives_events_on_all_and_on_a_stream(RedisProtocol protocol)
    {
        await using var muxer = await Server.ConnectAsync(o => o.Protocol = protocol);
        var subscriber = muxer.GetSubscriber();
        var all = await subscriber.SubscribeAsync(RedisChannel.Literal("$all"));
        string stream = Unique("se");
        var one = await subscriber.SubscribeAsync(RedisChannel.Literal($"stream:{stream}"));

        var db = muxer.GetDatabase();
        var added = new List<StoredEvent>();
        for (int i = 0; i < 5; i++)
        {
            added.AddRange(await db.EventsAsync("ADD", stream, "any", "T", $$"""{"i":{{i}}}"""));
        }

        var fromStream = await ReadAsync(one, 5);
        Assert.Equal(added.Select(e => e.Id), fromStream.Select(m => StoredEvent.Parse(m.Message!).Id));
        Assert.All(fromStream, m => Assert.Equal($"stream:{stream}", m.Channel.ToString()));

        // $all also carries whatever other tests of this class wrote meanwhile; ours come in order.
        var seen = new List<string>();
        while (seen.Count < 5)
        {
            var e = StoredEvent.Parse((await ReadAsync(all, 1))[0].Message!);
            if (e.Stream == stream)
            {
                seen.Add(e.Id);
            }
        }

        Assert.Equal(added.Select(e => e.Id), seen);
        await subscriber.UnsubscribeAllAsync();
    }

    private static async Task<List<ChannelMessage>> ReadAsync(ChannelMessageQueue queue, int count)
    {
        var messages = new List<ChannelMessage>();
        using var cts = new CancellationTokenSource(Wait);
        while (messages.Count < count)
        {
            messages.Add(await queue.ReadAsync(cts.Token));
        }

        return messages;
    }

    [Fact]
    public async Task Redis_cli_subscribe_prints_the_events_of_its_channel()
    {
        string stream = Unique("cli");
        var start = new ProcessStartInfo("redis-cli")
        {
            ArgumentList = { "-h", "127.0.0.1", "-p", Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "SUBSCRIBE", $"stream:{stream}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var cli = Process.Start(start)!;
        try
        {
            using var cts = new CancellationTokenSource(Wait);
            var lines = cli.StandardOutput;

            // Not a terminal, so redis-cli prints one element per line: subscribe, channel, count.
            Assert.Equal(["subscribe", $"stream:{stream}", "1"], [await NextLineAsync(lines, cts.Token), await NextLineAsync(lines, cts.Token), await NextLineAsync(lines, cts.Token)]);

            await using var c = await Server.OpenAuthenticatedRawAsync();
            var added = await c.EventsAsync("ADD", stream, "any", "A", "{}", "B", "{}");
            var received = new List<string>();
            for (int i = 0; i < added.Count; i++)
            {
                Assert.Equal("message", await NextLineAsync(lines, cts.Token));
                Assert.Equal($"stream:{stream}", await NextLineAsync(lines, cts.Token));
                received.Add(StoredEvent.Parse(await NextLineAsync(lines, cts.Token)).Id);
            }

            Assert.Equal(added.Select(e => e.Id), received);
        }
        finally
        {
            cli.Kill(entireProcessTree: true);
            await cli.WaitForExitAsync();
        }
    }

    private static async Task<string> NextLineAsync(StreamReader reader, CancellationToken cancellationToken) =>
        await reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("redis-cli ended");

    [Fact]
    public async Task Psubscribe_delivers_pmessage_once_per_matching_channel()
    {
        string category = Unique("pc").Replace("-", string.Empty, StringComparison.Ordinal);
        await using var sub = await Server.OpenAuthenticatedRawAsync();
        await sub.SubscribeAsync("PSUBSCRIBE", $"category:{category}*", $"*:{category}-1");
        await using var c = await Server.OpenAuthenticatedRawAsync();
        var added = await c.EventsAsync("ADD", $"{category}-1", "any", "T", "{}");

        var deliveries = await sub.ReadDeliveriesAsync(2);
        Assert.All(deliveries, d => Assert.Equal(("pmessage", added[0].Id), (d.Kind, d.Event.Id)));
        (string, string)[] expected = [($"category:{category}*", $"category:{category}"), ($"*:{category}-1", $"stream:{category}-1")];
        Assert.Equal(expected.Order(), deliveries.Select(d => (d.Pattern!, d.Channel)).Order());
    }

    [Fact]
    public async Task Ping_and_unsubscribe_in_subscriber_mode_and_no_delivery_after_unsubscribing()
    {
        string stream = Unique("un");
        await using var sub = await Server.OpenAuthenticatedRawAsync();
        await sub.SubscribeAsync("SUBSCRIBE", $"stream:{stream}", "no-such-channel");
        Assert.Equal(["pong", ""], await sub.ReadFrameAfterAsync("PING"));
        Assert.StartsWith("ERR", (await sub.CommandAsync("GET", stream)).Text);

        await using var c = await Server.OpenAuthenticatedRawAsync();
        var first = await c.EventsAsync("ADD", stream, "any", "T", "{}");
        var delivery = await sub.ReadDeliveryAsync(Wait);
        Assert.Equal(("message", $"stream:{stream}", first[0].Id), (delivery.Kind, delivery.Channel, delivery.Event.Id));

        await sub.SendCommandAsync("UNSUBSCRIBE");
        var confirmations = new[] { await sub.ReadFrameAsync(), await sub.ReadFrameAsync() };
        Assert.Equal("0", confirmations[^1][2]);
        await c.EventsAsync("ADD", stream, "any", "T", "{}");

        // Out of subscriber mode: the next reply is GET's, with no message frame before it.
        var reply = await sub.CommandAsync("GET", stream);
        Assert.Equal(2, StoredEvent.ParseAll(reply.Items.Select(i => i.Text!)).Count);
    }
}
