using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>The consumer-group methods against a real server: create, read, ack, nack, parked, replay, info, delete, restart.</summary>
public sealed class GroupTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Competing_consumers_ack_nack_park_and_replay()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        var stored = await client.AppendAsync("orders-1", ExpectedVersion.NoStream, Numbered(6));
        await client.AppendAsync("other-1", ExpectedVersion.NoStream, Numbered(2));

        await client.CreateGroupAsync("billing", Channels.Category("orders"), ackTimeout: TimeSpan.FromMinutes(5), maxDeliveries: 3);
        var first = await client.ReadGroupAsync("billing", "c1", count: 4);
        var second = await client.ReadGroupAsync("billing", "c2", count: 4);
        Assert.Equal(stored.Take(4).Select(e => e.Id), first.Select(e => e.Id));
        Assert.Equal(stored.Skip(4).Select(e => e.Id), second.Select(e => e.Id));
        Assert.Empty(await client.ReadGroupAsync("billing", "c1"));

        Assert.Equal(3, await client.AckAsync("billing", first.Take(3).Select(e => e.Id)));
        Assert.Equal(0, await client.AckAsync("billing", [first[0].Id]));
        Assert.True(await client.NackAsync("billing", first[3].Id, NackAction.Park));
        Assert.True(await client.NackAsync("billing", second[0].Id, NackAction.Skip));
        Assert.True(await client.NackAsync("billing", second[1].Id, NackAction.Retry));
        Assert.False(await client.NackAsync("billing", first[0].Id, NackAction.Retry));

        var retried = await client.ReadGroupAsync("billing", "c2");
        Assert.Equal([second[1].Id], retried.Select(e => e.Id));
        Assert.Equal(1, await client.AckAsync("billing", [second[1].Id]));

        var parked = await client.GetParkedAsync("billing");
        Assert.Equal([first[3].Id], parked.Select(e => e.Id));
        var info = Assert.Single(await client.GetGroupsAsync("billing"));
        Assert.Equal(("billing", "category:orders", 0L, 1L, TimeSpan.FromMinutes(5), 3L), (info.Name, info.Channel, info.Pending, info.Parked, info.AckTimeout, info.MaxDeliveries));
        Assert.True(NUlid.Ulid.Parse(info.Position) >= stored[^1].Id, $"position {info.Position} is before the last delivered event");

        Assert.Equal(1, await client.ReplayParkedAsync("billing"));
        Assert.Empty(await client.GetParkedAsync("billing"));
        var replayed = await client.ReadGroupAsync("billing", "c1");
        Assert.Equal([first[3].Id], replayed.Select(e => e.Id));
        Assert.Equal(1, await client.AckAsync("billing", [first[3].Id]));

        await client.DeleteGroupAsync("billing");
        Assert.DoesNotContain(await client.GetGroupsAsync(), g => g.Name == "billing");
        await Assert.ThrowsAsync<EventflowDbException>(() => client.ReadGroupAsync("billing", "c1"));
    }

    [Fact]
    public async Task A_group_continues_from_its_durable_position_after_a_restart_and_waits_for_new_events()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        var before = await client.AppendAsync("acct-1", ExpectedVersion.NoStream, Numbered(3));
        await client.CreateGroupAsync("audit", Channels.All, after: before[0].Id);
        await client.CreateGroupAsync("live", Channels.All, onlyNewEvents: true);

        var read = await client.ReadGroupAsync("audit", "a");
        Assert.Equal(before.Skip(1).Select(e => e.Id), read.Select(e => e.Id));
        await client.AckAsync("audit", [read[0].Id]);

        await server.KillAsync();
        await server.RestartAsync();

        // The unacknowledged event comes back once its ack deadline is due; a restart makes every pending event due.
        var again = await client.ReadGroupAsync("audit", "b");
        Assert.Equal([read[1].Id], again.Select(e => e.Id));
        Assert.Empty(await client.ReadGroupAsync("live", "l"));

        // A blocked READ holds up its connection, so the event comes from a second client.
        await using var writer = await Connect.ClientAsync(server);
        var waiting = client.ReadGroupAsync("live", "l", block: TimeSpan.FromSeconds(4));
        await Connect.UntilInFlightAsync(client);
        var added = await writer.AppendAsync("acct-1", ExpectedVersion.Exact(3), Numbered(1));
        Assert.Equal([added[0].Id], (await waiting).Select(e => e.Id));
    }

    private static List<EventData> Numbered(int count) =>
        [.. Enumerable.Range(0, count).Select(i => EventData.FromJson("Numbered", $$"""{"n":{{i}}}"""))];
}
