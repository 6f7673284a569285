using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Subscriptions;

/// <summary>GET and GETALL with BLOCK (long-poll) and GETALL with a channel filter.</summary>
public sealed class LongPollTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static readonly TimeSpan LongBlock = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Get_with_block_returns_as_soon_as_an_add_from_another_connection_commits()
    {
        string stream = Unique("lp");
        await using var reader = await Server.OpenAuthenticatedRawAsync();
        await using var writer = await Server.OpenAuthenticatedRawAsync();
        await reader.SendCommandAsync("GET", stream, "0", "10", "BLOCK", "60000");
        var pending = reader.ReadReplyAsync(LongBlock);
        await Task.Delay(200);
        Assert.False(pending.IsCompleted, "GET BLOCK answered before anything was written");

        var added = await writer.EventsAsync("ADD", stream, "any", "Opened", """{"n":1}""");
        var reply = await pending;
        var events = StoredEvent.ParseAll(reply.Items.Select(i => i.Text!));
        Assert.Equal(added[0].Id, Assert.Single(events).Id);

        // A stream that already has events past the version answers at once, BLOCK or not.
        Assert.Single(await reader.EventsAsync("GET", stream, "0", "0", "BLOCK", "60000"));
    }

    [Fact]
    public async Task Getall_with_block_in_json_form_returns_the_next_committed_event()
    {
        await using var reader = await Server.OpenAuthenticatedRawAsync();
        await using var writer = await Server.OpenAuthenticatedRawAsync();
        var last = await writer.EventsAsync("ADD", Unique("lp"), "any", "T", "{}");
        await reader.SendCommandAsync("GETALL", $$"""{"offset":"{{last[0].Id}}","limit":10,"block":60000}""");
        var pending = reader.ReadReplyAsync(LongBlock);
        var next = await writer.EventsAsync("ADD", Unique("lp"), "any", "T", "{}");
        var events = StoredEvent.ParseAll((await pending).Items.Select(i => i.Text!));
        Assert.Equal(next[0].Id, Assert.Single(events).Id);
    }

    [Fact]
    public async Task Block_times_out_with_an_empty_array()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("quiet");
        var get = await c.CommandAsync("GET", stream, "BLOCK", "150");
        Assert.Equal(RespType.Array, get.Type);
        Assert.Empty(get.Items);

        var getJson = await c.CommandAsync("GET", $$"""{"stream":"{{stream}}","block":150}""");
        Assert.Empty(getJson.Items);

        var all = await c.CommandAsync("GETALL", "0", "10", "CHANNEL", $"stream:{stream}", "BLOCK", "150");
        Assert.Equal(RespType.Array, all.Type);
        Assert.Empty(all.Items);

        // The connection is fine afterwards, and pipelined requests behind a blocked one keep their order.
        await c.SendAsync(RespConnection.Encode("GET", stream, "BLOCK", "100").Concat(RespConnection.Encode("PING")).ToArray());
        Assert.Empty((await c.ReadReplyAsync()).Items);
        Assert.Equal("PONG", (await c.ReadReplyAsync()).Text);
    }

    [Fact]
    public async Task Getall_channel_filters_by_stream_category_and_type()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string category = Unique("cat").Replace("-", string.Empty, StringComparison.Ordinal);
        string typeA = Unique("TypeA");
        string typeB = Unique("TypeB");
        var start = await c.EventsAsync("ADD", Unique("other"), "any", "T", "{}");
        var a1 = await c.EventsAsync("ADD", $"{category}-1", "any", typeA, "{}", typeB, "{}");
        var noise = await c.EventsAsync("ADD", Unique("other"), "any", typeA, "{}");
        var a2 = await c.EventsAsync("ADD", $"{category}-2", "any", typeB, "{}");
        string from = start[0].Id;

        var byCategory = await c.EventsAsync("GETALL", from, "0", "CHANNEL", $"category:{category}");
        Assert.Equal([a1[0].Id, a1[1].Id, a2[0].Id], byCategory.Select(e => e.Id));

        var byStream = await c.EventsAsync("GETALL", $$"""{"offset":"{{from}}","channel":"stream:{{category}}-1"}""");
        Assert.Equal(a1.Select(e => e.Id), byStream.Select(e => e.Id));

        var byType = await c.EventsAsync("GETALL", from, "0", "CHANNEL", $"type:{typeA}");
        Assert.Equal([a1[0].Id, noise[0].Id], byType.Select(e => e.Id));

        var all = await c.EventsAsync("GETALL", from, "0", "CHANNEL", "$all");
        Assert.Equal(a1.Concat(noise).Concat(a2).Select(e => e.Id), all.Select(e => e.Id));

        // The limit counts matching events; the scan goes on past the ones that do not match.
        var firstB = await c.EventsAsync("GETALL", from, "1", "CHANNEL", $"type:{typeB}");
        Assert.Equal(a1[1].Id, Assert.Single(firstB).Id);
        var secondB = await c.EventsAsync("GETALL", firstB[0].Id, "1", "CHANNEL", $"type:{typeB}");
        Assert.Equal(a2[0].Id, Assert.Single(secondB).Id);

        Assert.StartsWith("INVALID", await c.ErrorAsync("GETALL", "0", "10", "CHANNEL", "nonsense"));
        Assert.StartsWith("ERR", await c.ErrorAsync("GETALL", "0", "10", "BLOCK", "10", "CHANNEL", "$all"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GET", "s", "BLOCK", "-1"));
    }

    [Fact]
    public async Task Filtered_getall_with_block_skips_events_of_other_channels_until_one_matches()
    {
        await using var reader = await Server.OpenAuthenticatedRawAsync();
        await using var writer = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("wanted");
        var start = await writer.EventsAsync("ADD", Unique("other"), "any", "T", "{}");
        await reader.SendCommandAsync("GETALL", start[0].Id, "10", "CHANNEL", $"stream:{stream}", "BLOCK", "60000");
        var pending = reader.ReadReplyAsync(LongBlock);
        for (int i = 0; i < 5; i++)
        {
            await writer.EventsAsync("ADD", Unique("other"), "any", "T", "{}");
        }

        Assert.False(pending.IsCompleted, "answered with events of other streams");
        var wanted = await writer.EventsAsync("ADD", stream, "any", "T", "{}");
        var events = StoredEvent.ParseAll((await pending).Items.Select(i => i.Text!));
        Assert.Equal(wanted[0].Id, Assert.Single(events).Id);
    }
}
