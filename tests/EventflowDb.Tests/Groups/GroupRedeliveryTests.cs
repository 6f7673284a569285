using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Groups;

/// <summary>Ack time-outs, parking after the maximum delivery count, PARKED, REPLAY and NACK.</summary>
public sealed class GroupRedeliveryTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    [Fact]
    public async Task An_event_not_acked_within_the_ack_timeout_is_delivered_again_to_another_consumer()
    {
        await using var a = await Server.OpenAuthenticatedRawAsync();
        await using var b = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("redeliver");
        var first = await a.AddAsync(stream);
        var second = await a.AddAsync(stream);
        string group = Unique("g");
        await a.CreateGroupAsync(group, $"stream:{stream}", "0", "ACKTIMEOUT", "300");

        Assert.Equal([first.Id], (await a.GroupReadAsync(group, "a", "COUNT", "1")).Ids());
        Assert.Equal([second.Id], (await b.GroupReadAsync(group, "b", "COUNT", "1")).Ids());
        Assert.Equal(1, await b.GroupAckAsync(group, second.Id));

        // Nothing new: BLOCK waits until the first event's ack deadline passes, then b gets it.
        Assert.Equal([first.Id], (await b.GroupReadAsync(group, "b", "BLOCK", "60000")).Ids());
        Assert.Equal(1, await b.GroupAckAsync(group, first.Id));
        Assert.Equal(0, await a.GroupAckAsync(group, first.Id));
        Assert.Empty(await a.GroupReadAsync(group, "a", "BLOCK", "500"));
    }

    [Fact]
    public async Task After_the_max_delivery_count_an_event_is_parked_and_replay_delivers_it_again()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("park");
        var poison = await c.AddAsync(stream);
        string group = Unique("g");
        await c.CreateGroupAsync(group, $"stream:{stream}", "0", "ACKTIMEOUT", "200", "MAXDELIVERIES", "2");

        Assert.Equal([poison.Id], (await c.GroupReadAsync(group, "x")).Ids());
        Assert.Equal([poison.Id], (await c.GroupReadAsync(group, "x", "BLOCK", "60000")).Ids());
        await c.WaitForInfoAsync(group, "parked", 1);
        Assert.Equal(0, (await c.GroupInfoAsync(group))["pending"].Int());
        Assert.Empty(await c.GroupReadAsync(group, "x"));

        var parked = await c.EventsAsync("GROUP", "PARKED", group, "COUNT", "10");
        Assert.Equal(poison.Raw, Assert.Single(parked).Raw);

        Assert.Equal(1, (await c.CommandAsync("GROUP", "REPLAY", group)).Int());
        Assert.Empty(await c.EventsAsync("GROUP", "PARKED", group));
        Assert.Equal([poison.Id], (await c.GroupReadAsync(group, "x")).Ids());
        Assert.Equal(1, await c.GroupAckAsync(group, poison.Id));
        var info = await c.GroupInfoAsync(group);
        Assert.Equal(0, info["pending"].Int());
        Assert.Equal(0, info["parked"].Int());
    }

    [Fact]
    public async Task Nack_retry_redelivers_at_once_park_parks_and_skip_acks()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("nack");
        var e1 = await c.AddAsync(stream);
        var e2 = await c.AddAsync(stream);
        var e3 = await c.AddAsync(stream);
        string group = Unique("g");
        await c.CreateGroupAsync(group, $"stream:{stream}");
        Assert.Equal([e1.Id, e2.Id, e3.Id], (await c.GroupReadAsync(group, "x")).Ids());

        Assert.Equal(1, (await c.CommandAsync("GROUP", "NACK", group, e1.Id, "RETRY")).Int());
        Assert.Equal(1, (await c.CommandAsync("GROUP", "NACK", group, e2.Id, "park")).Int());
        Assert.Equal(1, (await c.CommandAsync("GROUP", "NACK", group, e3.Id, "SKIP")).Int());
        Assert.Equal(0, (await c.CommandAsync("GROUP", "NACK", group, e3.Id, "SKIP")).Int());

        Assert.Equal([e1.Id], (await c.GroupReadAsync(group, "y")).Ids());
        Assert.Equal([e2.Id], (await c.EventsAsync("GROUP", "PARKED", group)).Ids());
        var info = await c.GroupInfoAsync(group);
        Assert.Equal(1, info["pending"].Int());
        Assert.Equal(1, info["parked"].Int());
        Assert.Equal(0, await c.GroupAckAsync(group, e3.Id));
        Assert.Equal(1, await c.GroupAckAsync(group, e1.Id));
    }
}
