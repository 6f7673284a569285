using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>At most 10,000 consumer groups (SPEC.md v2): one more is refused, and a delete makes room again.</summary>
public sealed class GroupLimitTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const int MaxGroups = 10_000;

    [Fact]
    public async Task The_server_keeps_at_most_10000_consumer_groups()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenRawAsync();
        await c.EventsAsync("ADD", "limit-1", "any", "T", "d");
        var before = await StoreState.ReadAsync(c);

        // Pipelined in batches: each CREATE is one fsynced journal record.
        for (int first = 0; first < MaxGroups; first += 500)
        {
            foreach (int i in Enumerable.Range(first, 500))
            {
                await c.SendCommandAsync("GROUP", "CREATE", $"g{i}", "$all", "$");
            }

            Assert.All(await c.ReadRepliesAsync(500), r => Assert.Equal("OK", r.Str()));
        }

        var refused = await c.CommandAsync("GROUP", "CREATE", "one-more", "$all");
        EventAssert.StartsWith("ERR too many consumer groups", refused.Text!);
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        Assert.Equal(MaxGroups, (await c.CommandAsync("GROUP", "INFO")).Arr().Count);
        Assert.True((await c.CommandAsync("GROUP", "INFO", "one-more")).IsError());
        Assert.Equal(before, await StoreState.ReadAsync(c));

        Assert.Equal("OK", (await c.CommandAsync("GROUP", "DELETE", "g17")).Str());
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "one-more", "$all")).Str());
        Assert.Single((await c.CommandAsync("GROUP", "READ", "one-more", "c1")).Arr());
    }
}
