using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Groups;

/// <summary>GROUP CREATE / READ / ACK / INFO / DELETE and competing consumers.</summary>
public sealed class GroupFlowTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Create_read_ack_delivers_each_event_once_and_moves_the_position()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string category = GroupClient.UniqueCategory();
        var added = new List<StoredEvent>();
        for (int i = 0; i < 3; i++)
        {
            added.Add(await c.AddAsync($"{category}-{i}"));
        }

        string group = Unique("g");
        await c.CreateGroupAsync(group, $"category:{category}");
        var read = await c.GroupReadAsync(group, "alice");
        Assert.Equal(added.Ids(), read.Ids());
        Assert.Equal(added[0].Raw, read[0].Raw);

        var info = await c.GroupInfoAsync(group);
        Assert.Equal(3, info["pending"].Int());
        Assert.Equal(added[^1].Id, info["position"].Str());

        Assert.Equal(3, await c.GroupAckAsync(group, [.. read.Ids()]));
        Assert.Equal(0, await c.GroupAckAsync(group, read[0].Id));
        Assert.Empty(await c.GroupReadAsync(group, "alice"));

        info = await c.GroupInfoAsync(group);
        Assert.Equal(group, info["name"].Str());
        Assert.Equal($"category:{category}", info["channel"].Str());
        Assert.Equal(0, info["pending"].Int());
        Assert.Equal(0, info["parked"].Int());
        Assert.Equal(["alice"], info["consumers"].Items.Select(i => i.Str()));
        Assert.Equal(30_000, info["ack-timeout-ms"].Int());
        Assert.Equal(10, info["max-deliveries"].Int());

        var next = await c.AddAsync($"{category}-9");
        Assert.Equal([next.Id], (await c.GroupReadAsync(group, "alice")).Ids());
    }

    [Fact]
    public async Task Two_competing_consumers_get_disjoint_events_that_together_are_the_channel_in_order()
    {
        await using var a = await Server.OpenAuthenticatedRawAsync();
        await using var b = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("compete");
        var added = new List<StoredEvent>();
        for (int i = 0; i < 10; i++)
        {
            added.Add(await a.AddAsync(stream));
        }

        string group = Unique("g");
        await a.CreateGroupAsync(group, $"stream:{stream}");
        var first = await a.GroupReadAsync(group, "a", "COUNT", "3");
        var second = await b.GroupReadAsync(group, "b", "COUNT", "3");
        var third = await a.GroupReadAsync(group, "a", "COUNT", "100");
        Assert.Equal(3, first.Count);
        Assert.Equal(3, second.Count);
        Assert.Empty(first.Ids().Intersect(second.Ids()));
        Assert.Equal(added.Ids(), [.. first.Ids(), .. second.Ids(), .. third.Ids()]);
        Assert.Empty(await b.GroupReadAsync(group, "b"));

        var info = await a.GroupInfoAsync(group);
        Assert.Equal(["a", "b"], info["consumers"].Items.Select(i => i.Str()));
        Assert.Equal(10, info["pending"].Int());
    }

    [Fact]
    public async Task Channel_filters_by_category_and_type()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string wanted = GroupClient.UniqueCategory();
        string other = GroupClient.UniqueCategory();
        string type = Unique("Type");
        var inCategory = new List<StoredEvent>();
        var ofType = new List<StoredEvent>();
        for (int i = 0; i < 4; i++)
        {
            inCategory.Add(await c.AddAsync($"{wanted}-{i}"));
            ofType.Add(await c.AddAsync($"{other}-{i}", type));
        }

        string byCategory = Unique("g");
        string byType = Unique("g");
        await c.CreateGroupAsync(byCategory, $"category:{wanted}");
        await c.CreateGroupAsync(byType, $"type:{type}");
        Assert.Equal(inCategory.Ids(), (await c.GroupReadAsync(byCategory, "x")).Ids());
        Assert.Equal(ofType.Ids(), (await c.GroupReadAsync(byType, "x")).Ids());
    }

    [Fact]
    public async Task Dollar_starts_after_the_last_event_and_an_id_starts_after_that_event()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("start");
        var before = new List<StoredEvent> { await c.AddAsync(stream), await c.AddAsync(stream), await c.AddAsync(stream) };

        string fromNow = Unique("g");
        string fromId = Unique("g");
        await c.CreateGroupAsync(fromNow, $"stream:{stream}", "$");
        await c.CreateGroupAsync(fromId, $"stream:{stream}", before[0].Id, "ACKTIMEOUT", "5000", "MAXDELIVERIES", "3");
        Assert.Empty(await c.GroupReadAsync(fromNow, "x"));

        var after = await c.AddAsync(stream);
        Assert.Equal([after.Id], (await c.GroupReadAsync(fromNow, "x")).Ids());
        Assert.Equal([before[1].Id, before[2].Id, after.Id], (await c.GroupReadAsync(fromId, "x")).Ids());

        var info = await c.GroupInfoAsync(fromId);
        Assert.Equal(5000, info["ack-timeout-ms"].Int());
        Assert.Equal(3, info["max-deliveries"].Int());
    }

    [Fact]
    public async Task Info_lists_every_group_and_delete_removes_one()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string first = Unique("g");
        string second = Unique("g");
        await c.CreateGroupAsync(first, "$all", "$");
        await c.CreateGroupAsync(second, "$all", "$");
        var names = (await c.CommandAsync("GROUP", "INFO")).Items.Select(m => GroupClient.Fields(m)["name"].Str()).ToList();
        Assert.Contains(first, names);
        Assert.Contains(second, names);

        Assert.Equal("OK", (await c.CommandAsync("GROUP", "DELETE", first)).Str());
        names = [.. (await c.CommandAsync("GROUP", "INFO")).Items.Select(m => GroupClient.Fields(m)["name"].Str())];
        Assert.DoesNotContain(first, names);
        Assert.Contains(second, names);
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "READ", first, "x"));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "DELETE", first));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "INFO", first));
    }

    [Fact]
    public async Task Bad_requests_are_reported_with_spec_code_words()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string group = Unique("g");
        await c.CreateGroupAsync(group, "$all", "$");
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "CREATE", group, "$all"));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "FROB", group));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "READ", group));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "READ", group, "x", "COUNT"));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "NACK", group, StoredEvent.ZeroUlid[..25] + "1", "MAYBE"));
        Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "ACK", Unique("missing"), StoredEvent.ZeroUlid[..25] + "1"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "CREATE", Unique("g"), "nonsense"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "CREATE", Unique("g"), "$all", "0", "ACKTIMEOUT", "0"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "CREATE", Unique("g"), "$all", "0", "MAXDELIVERIES", "-1"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "CREATE", Unique("g"), "$all", "not-an-id"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "READ", group, "x", "COUNT", "0"));
        Assert.StartsWith("INVALID", await c.ErrorAsync("GROUP", "ACK", group, "bogus"));
    }

    [Fact]
    public async Task Read_with_block_returns_when_a_matching_event_commits()
    {
        await using var reader = await Server.OpenAuthenticatedRawAsync();
        await using var writer = await Server.OpenAuthenticatedRawAsync();
        string category = GroupClient.UniqueCategory();
        string group = Unique("g");
        await reader.CreateGroupAsync(group, $"category:{category}", "$");
        await reader.SendCommandAsync("GROUP", "READ", group, "x", "BLOCK", "60000");
        var pending = reader.ReadReplyAsync(TimeSpan.FromSeconds(60));

        await writer.AddAsync(Unique("unrelated"));
        var matching = await writer.AddAsync($"{category}-1");
        var events = StoredEvent.ParseAll((await pending).Strings());
        Assert.Equal([matching.Id], events.Ids());

        var empty = await reader.CommandAsync("GROUP", "READ", group, "x", "BLOCK", "100");
        Assert.Empty(empty.Items);
    }
}
