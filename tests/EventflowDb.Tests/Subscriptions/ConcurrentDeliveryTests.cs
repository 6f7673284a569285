using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>Writers on several connections while subscribers follow $all, a category and a stream.</summary>
public sealed class ConcurrentDeliveryTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Each_subscriber_sees_exactly_the_events_of_its_channel_in_log_order()
    {
        var server = await StartServerAsync();
        var channels = new[] { "$all", "category:acct", "stream:acct-1", "type:Deposited" };
        var subscribers = new List<RespConnection>();
        foreach (string channel in channels)
        {
            var sub = await server.OpenAuthenticatedRawAsync();
            await sub.SubscribeAsync("SUBSCRIBE", channel);
            subscribers.Add(sub);
        }

        // Four writers, each on its own connection, into streams of the category and outside it.
        string[] streams = ["acct-1", "acct-2", "other-1", "acct-1"];
        await Task.WhenAll(streams.Select(async (stream, w) =>
        {
            await using var c = await server.OpenAuthenticatedRawAsync();
            for (int i = 0; i < 60; i++)
            {
                await c.EventsAsync("ADD", stream, "any", i % 3 == 0 ? "Deposited" : "Withdrawn", $$"""{"w":{{w}},"i":{{i}}}""");
            }
        }));

        await using var reader = await server.OpenAuthenticatedRawAsync();
        var log = await reader.ReadWholeLogAsync();
        Assert.Equal(240, log.Count);
        var sentinel = (await reader.EventsAsync("ADD", "acct-1", "any", "Deposited", "{}"))[0];

        for (int s = 0; s < channels.Length; s++)
        {
            var expected = log.Where(e => Matches(channels[s], e)).Select(e => e.Id).ToList();
            var got = await subscribers[s].ReadDeliveriesAsync(expected.Count, Wait);
            Assert.All(got, d => Assert.Equal(channels[s], d.Channel));
            Assert.Equal(expected, got.Select(d => d.Event.Id));

            // Nothing extra (no duplicate) before the event written after all others.
            Assert.Equal(sentinel.Id, (await subscribers[s].ReadDeliveryAsync(Wait)).Event.Id);
            await subscribers[s].DisposeAsync();
        }
    }

    private static bool Matches(string channel, StoredEvent e) => channel switch
    {
        "$all" => true,
        "category:acct" => e.Stream.StartsWith("acct-", StringComparison.Ordinal),
        "stream:acct-1" => e.Stream == "acct-1",
        _ => e.Type == "Deposited",
    };
}
