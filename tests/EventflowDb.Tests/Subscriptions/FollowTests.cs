using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>FOLLOW: history after an id, then live events, with no gap and no duplicate at the switch.</summary>
public sealed class FollowTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Follow_crosses_from_history_to_live_while_writes_go_on()
    {
        var server = await StartServerAsync();
        await using var writer = await server.OpenAuthenticatedRawAsync();
        for (int i = 0; i < 200; i++)
        {
            await writer.EventsAsync("ADD", i % 2 == 0 ? "f-1" : "g-1", "any", "T", $$"""{"i":{{i}}}""");
        }

        // Writes continue on two connections while the followers catch up.
        string[] streams = ["f-1", "g-1"];
        var writing = Task.WhenAll(streams.Select(async stream =>
        {
            await using var c = await server.OpenAuthenticatedRawAsync();
            for (int i = 0; i < 150; i++)
            {
                await c.EventsAsync("ADD", stream, "any", "T", $$"""{"live":{{i}}}""");
            }
        }));

        await using var all = await server.OpenAuthenticatedRawAsync();
        await all.FollowAsync("$all", "0");
        await using var stream = await server.OpenAuthenticatedRawAsync();
        await stream.FollowAsync("stream:f-1", StoredEvent.ZeroUlid);
        await using var fromMiddle = await server.OpenAuthenticatedRawAsync();
        var middle = (await writer.EventsAsync("GETALL", "0", "50"))[^1];
        await fromMiddle.FollowAsync("$all", middle.Id);

        await writing;
        var log = await writer.ReadWholeLogAsync();
        Assert.Equal(500, log.Count);

        var gotAll = await all.ReadDeliveriesAsync(500, Wait);
        Assert.Equal(log.Select(e => e.Id), gotAll.Select(d => d.Event.Id));
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), gotAll.Select(d => d.Event.Position));

        var gotStream = await stream.ReadDeliveriesAsync(250, Wait);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => (long)i), gotStream.Select(d => d.Event.Version));
        Assert.All(gotStream, d => Assert.Equal(("stream:f-1", "f-1"), (d.Channel, d.Event.Stream)));

        var gotMiddle = await fromMiddle.ReadDeliveriesAsync(450, Wait);
        Assert.Equal(log.Skip(50).Select(e => e.Id), gotMiddle.Select(d => d.Event.Id));

        // Still live afterwards, and nothing was delivered twice: the next frame is the next event.
        var next = (await writer.EventsAsync("ADD", "f-1", "any", "T", "{}"))[0];
        Assert.Equal(next.Id, (await all.ReadDeliveryAsync(Wait)).Event.Id);
        Assert.Equal(next.Id, (await stream.ReadDeliveryAsync(Wait)).Event.Id);
        Assert.Equal(next.Id, (await fromMiddle.ReadDeliveryAsync(Wait)).Event.Id);
    }
}
