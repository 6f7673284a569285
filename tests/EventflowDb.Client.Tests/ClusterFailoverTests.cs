using EventflowDb.Tests.Cluster;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>The typed client given every member of a cluster writes to the leader and follows a failover.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Appends_with_message_ids_go_on_through_a_failover_and_are_stored_once()
    {
        await using var cluster = await TestCluster.StartAsync();
        int leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        string members = string.Join(",", cluster.Members.Select(m => $"127.0.0.1:{m.Port}"));
        await using var client = await EventflowDbClient.ConnectAsync($"{members},abortConnect=false,connectTimeout=5000,asyncTimeout=5000", new EventflowDbClientOptions { ClusterFailoverTimeout = TimeSpan.FromSeconds(30) });

        for (int i = 0; i < 10; i++)
        {
            await client.AppendAsync("failover", ExpectedVersion.Any, EventData.FromJson("Before", $"{{\"i\":{i}}}") with { MessageId = $"m{i}" });
        }

        cluster.Members[leader].SignalKill();
        await cluster.Members[leader].KillAsync();
        for (int i = 10; i < 20; i++)
        {
            await client.AppendAsync("failover", ExpectedVersion.Any, EventData.FromJson("After", $"{{\"i\":{i}}}") with { MessageId = $"m{i}" });
        }

        // A read may be served by a follower, a few milliseconds behind the leader: wait (bounded) until it has them all.
        var events = new List<RecordedEvent>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            events.Clear();
            await foreach (var e in client.ReadStreamAsync("failover"))
            {
                events.Add(e);
            }
        }
        while (events.Count < 20 && clock.Elapsed < TimeSpan.FromSeconds(30) && await Task.Delay(50).ContinueWith(_ => true));

        output.WriteLine($"{events.Count} events after the failover");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), events.Select(e => e.MessageId));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), events.Select(e => e.Version));
    }
}
