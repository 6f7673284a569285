using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Groups;

/// <summary>Group positions, pending and parked sets survive a graceful restart and a kill -9.</summary>
public sealed class GroupDurabilityTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Acked_events_are_not_delivered_again_after_a_restart_and_unacked_ones_are(bool kill)
    {
        var server = await StartServerAsync();
        string stream = Unique("durable");
        string group = Unique("g");
        List<StoredEvent> added = [];
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                added.Add(await c.AddAsync(stream));
            }

            await c.CreateGroupAsync(group, $"stream:{stream}", "0", "ACKTIMEOUT", "60000", "MAXDELIVERIES", "4");
            Assert.Equal(added.Ids()[..4], (await c.GroupReadAsync(group, "x", "COUNT", "4")).Ids());
            Assert.Equal(2, await c.GroupAckAsync(group, added[0].Id, added[2].Id));
            Assert.Equal(1, (await c.CommandAsync("GROUP", "NACK", group, added[3].Id, "PARK")).Int());
        }

        if (kill)
        {
            await server.KillAsync();
        }

        await server.RestartAsync();
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            var info = await c.GroupInfoAsync(group);
            Assert.Equal(added[3].Id, info["position"].Str());
            Assert.Equal(1, info["pending"].Int());
            Assert.Equal(1, info["parked"].Int());
            Assert.Equal(60_000, info["ack-timeout-ms"].Int());
            Assert.Equal(4, info["max-deliveries"].Int());
            Assert.Equal(["x"], info["consumers"].Items.Select(i => i.Str()));

            // The unacked event is due again at once (its consumer did not survive the restart), then the new one.
            Assert.Equal([added[1].Id, added[4].Id], (await c.GroupReadAsync(group, "y")).Ids());
            Assert.Equal([added[3].Id], (await c.EventsAsync("GROUP", "PARKED", group)).Ids());
            Assert.Equal(2, await c.GroupAckAsync(group, added[1].Id, added[4].Id));
        }

        // And the acks are durable too.
        await server.KillAsync();
        await server.RestartAsync();
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            Assert.Empty(await c.GroupReadAsync(group, "z"));
            Assert.Equal(0, (await c.GroupInfoAsync(group))["pending"].Int());
        }
    }

    [Fact]
    public async Task A_deleted_group_stays_deleted_after_a_restart()
    {
        var server = await StartServerAsync();
        string group = Unique("g");
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            await c.CreateGroupAsync(group, "$all");
            Assert.Equal("OK", (await c.CommandAsync("GROUP", "DELETE", group)).Str());
        }

        await server.KillAsync();
        await server.RestartAsync();
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            Assert.StartsWith("ERR", await c.ErrorAsync("GROUP", "INFO", group));
            Assert.Empty((await c.CommandAsync("GROUP", "INFO")).Items);
        }
    }
}
