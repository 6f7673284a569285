using System.Text.RegularExpressions;
using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using NUlid;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>CHECKSUM, EVENTCOUNT, EVENTCOUNTEST, STREAMCOUNT, STREAMCOUNTEST, SIZE, UPTIME, VERSION and PING on a server of its own.</summary>
public sealed partial class StatisticsTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Statistics_follow_the_appends()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);

        var empty = await client.GetChecksumAsync();
        Assert.Equal(Ulid.Empty, empty.LastEventId);
        Assert.Equal(0UL, empty.Value);
        Assert.Equal("0000000000000000", empty.Hex);
        Assert.Equal(0, await client.GetEventCountAsync());
        Assert.Equal(0, await client.GetStreamCountAsync());
        Assert.Equal(0, await client.GetEventCountEstimateAsync());
        Assert.Equal(0, await client.GetStreamCountEstimateAsync());
        Assert.Empty(await client.ListStreamsAsync().CollectAsync());
        Assert.Empty(await client.ReadAllAsync().CollectAsync());

        var first = await client.AppendAsync("stats-a", ExpectedVersion.NoStream, Numbered(2));
        var afterFirst = await client.GetChecksumAsync();
        Assert.Equal(first[^1].Id, afterFirst.LastEventId);
        Assert.NotEqual(0UL, afterFirst.Value);
        Assert.Matches("^[0-9a-f]{16}$", afterFirst.Hex);
        Assert.Equal(2, await client.GetEventCountAsync());
        Assert.Equal(1, await client.GetStreamCountAsync());

        var second = await client.AppendAsync("stats-b", ExpectedVersion.NoStream, Numbered(3));
        var afterSecond = await client.GetChecksumAsync();
        Assert.Equal(second[^1].Id, afterSecond.LastEventId);
        Assert.NotEqual(afterFirst.Value, afterSecond.Value);
        Assert.Equal(5, await client.GetEventCountAsync());
        Assert.Equal(2, await client.GetStreamCountAsync());
        Assert.Equal(afterSecond, await client.GetChecksumAsync()); // reads change nothing

        long eventEstimate = await client.GetEventCountEstimateAsync();
        long streamEstimate = await client.GetStreamCountEstimateAsync();
        Assert.InRange(eventEstimate, 0, 5);
        Assert.InRange(streamEstimate, 0, 2);

        var size = await client.GetSizeAsync();
        Assert.True(size.Bytes > 0, $"SIZE {size}");
        Assert.False(string.IsNullOrWhiteSpace(size.Text));

        var uptime = await client.GetUptimeAsync();
        var later = await client.GetUptimeAsync();
        Assert.True(uptime.Uptime >= TimeSpan.Zero && later.Uptime >= uptime.Uptime, $"UPTIME went from {uptime} to {later}");
        Assert.False(string.IsNullOrWhiteSpace(uptime.Text));

        Assert.Matches(SemanticVersion(), await client.GetServerVersionAsync());
        await client.PingAsync(); // throws unless the reply is PONG
    }

    [Fact]
    public async Task Estimates_equal_the_exact_counts_once_the_index_is_checkpointed_at_shutdown()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        for (int i = 0; i < 4; i++)
        {
            await client.AppendAsync($"est-{i}", ExpectedVersion.NoStream, Numbered(i + 1));
        }

        await server.RestartAsync(); // graceful stop checkpoints the index

        Assert.Equal(10, await client.GetEventCountAsync());
        Assert.Equal(4, await client.GetStreamCountAsync());
        Assert.Equal(10, await client.GetEventCountEstimateAsync());
        Assert.Equal(4, await client.GetStreamCountEstimateAsync());
    }

    private static List<EventData> Numbered(int count) =>
        [.. Enumerable.Range(0, count).Select(i => EventData.FromJson("Numbered", $$"""{"n":{{i}}}"""))];

    [GeneratedRegex(@"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")]
    private static partial Regex SemanticVersion();
}
