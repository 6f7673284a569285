using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>A subscriber that stops reading neither blocks writers nor loses events.</summary>
public sealed class SlowSubscriberTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task A_subscriber_that_stops_reading_gets_everything_in_order_later_and_writers_go_on()
    {
        var server = await StartServerAsync();
        await using var slow = await server.OpenAuthenticatedRawAsync();
        await slow.SubscribeAsync("SUBSCRIBE", "$all");
        await using var fast = await server.OpenAuthenticatedRawAsync();
        await fast.SubscribeAsync("SUBSCRIBE", "category:big");

        // About 12 MB of events, far more than the socket buffers hold, while the slow subscriber reads nothing.
        string pad = new('x', 4000);
        const int Writers = 3;
        const int PerWriter = 1000;
        var writing = Task.WhenAll(Enumerable.Range(0, Writers).Select(async w =>
        {
            await using var c = await server.OpenAuthenticatedRawAsync();
            for (int batch = 0; batch < PerWriter / 50; batch++)
            {
                var pipeline = Enumerable.Range(0, 50).SelectMany(i => RespConnection.Encode("ADD", $"big-{w}", "any", "T", $$"""{"pad":"{{pad}}","i":{{i}}}""")).ToArray();
                await c.SendAsync(pipeline);
                foreach (var reply in await c.ReadRepliesAsync(50))
                {
                    Assert.Equal(EventflowDb.Protocol.RespType.Array, reply.Type);
                }
            }
        }));

        // The other subscriber keeps up meanwhile: a slow reader holds back nobody else.
        var fastGot = await fast.ReadDeliveriesAsync(Writers * PerWriter, TimeSpan.FromSeconds(120));
        await writing;
        await Task.Delay(TimeSpan.FromSeconds(2));

        await using var reader = await server.OpenAuthenticatedRawAsync();
        var log = await reader.ReadWholeLogAsync();
        Assert.Equal(Writers * PerWriter, log.Count);
        Assert.Equal(log.Select(e => e.Id), fastGot.Select(d => d.Event.Id));

        var slowGot = await slow.ReadDeliveriesAsync(log.Count, TimeSpan.FromSeconds(120));
        Assert.Equal(log.Select(e => e.Id), slowGot.Select(d => d.Event.Id));
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), slowGot.Select(d => d.Event.Position));
    }
}
