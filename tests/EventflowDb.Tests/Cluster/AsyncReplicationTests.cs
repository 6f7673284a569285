using System.Diagnostics;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// <c>--replication async</c> on real members behind <see cref="EventflowDb.Testing.PartitionProxy"/>: the leader
/// acknowledges a write once its own store holds it, so an isolated leader acknowledges writes no other member gets
/// (under <c>sync</c> it acknowledges none: PartitionTests). When the majority moved on without them, the old leader
/// finds its store diverged as soon as the other leader's entries at those indexes are committed, and replaces its store
/// by a copy of a member's: every member ends with the same events, without the writes the cluster never kept.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AsyncReplicationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_isolated_async_leader_acknowledges_alone_and_later_replaces_its_diverged_store_by_a_copy(bool killedWhileIsolated)
    {
        await using var cluster = await TestCluster.StartBehindProxyAsync(3, "--replication", "async");
        var proxy = cluster.Proxy!;
        for (int i = 0; i < 5; i++)
        {
            var reply = await cluster.WriteAsync("ADD", "kept", "any", "Before", "{}");
            Assert.False(reply.IsError(), RespText.Describe(reply));
        }

        await cluster.WaitForConvergenceAsync(Generous);
        int old = await cluster.WaitForLeaderAsync(Generous);
        var member = cluster.Members[old];
        await using (var connection = await RespConnection.OpenAsync(member.Port, TimeSpan.FromSeconds(10)))
        {
            proxy.Isolate(old);

            // No other member can receive these: each acknowledgement comes from the leader's own store alone.
            int alone = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                var reply = await connection.CommandAsync("ADD", "alone", "any", "Alone", "{}");
                if (reply.IsError())
                {
                    output.WriteLine($"after {alone} acknowledged alone: {RespText.Describe(reply)}");
                    break;
                }

                alone++;
            }

            Assert.True(alone > 0, "the isolated async leader acknowledged nothing\n" + member.Output);
        }

        if (killedWhileIsolated)
        {
            // Its record of what it applied ahead must survive: the check then runs after the restart.
            await member.KillAsync();
        }

        int next = await cluster.WaitForLeaderAsync(Generous, except: old);
        for (int i = 0; i < 5;)
        {
            var reply = await TestCluster.CommandAsync(cluster.Members[next], "ADD", "kept", "any", "After", "{}");
            if (reply.IsError())
            {
                Assert.Matches("^(TRYAGAIN|READONLY)", reply.Text ?? "");
                next = await cluster.WaitForLeaderAsync(Generous, except: old);
                continue;
            }

            i++;
        }

        if (killedWhileIsolated)
        {
            await member.RestartAsync();
            proxy.SetProcess(old, member.ProcessId);
        }

        proxy.Heal();
        await AssertReplacedByCopyAsync(cluster, member, "there ahead of the majority");
        int leader = await cluster.WaitForLeaderAsync(Generous);
        var expected = await TestCluster.AllEventsAsync(cluster.Members[leader]);
        Assert.Equal(expected, await TestCluster.AllEventsAsync(member));
        Assert.Equal(10, expected.Count(e => e.Contains("\"stream\":\"kept\"", StringComparison.Ordinal)));
        Assert.DoesNotContain(expected, e => e.Contains("\"type\":\"Alone\"", StringComparison.Ordinal));
        var info = (await TestCluster.CommandAsync(member, "INFO", "cluster")).Str();
        Assert.Contains("cluster_ahead_entries:0", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_write_acknowledged_alone_and_replaced_by_the_next_leaders_no_op_is_found_without_later_writes()
    {
        await using var cluster = await TestCluster.StartBehindProxyAsync(3, "--replication", "async");
        var proxy = cluster.Proxy!;
        var before = await cluster.WriteAsync("ADD", "kept", "any", "Before", "{}");
        Assert.False(before.IsError(), RespText.Describe(before));
        await cluster.WaitForConvergenceAsync(Generous);
        int old = await cluster.WaitForLeaderAsync(Generous);
        var member = cluster.Members[old];
        await using (var connection = await RespConnection.OpenAsync(member.Port, TimeSpan.FromSeconds(10)))
        {
            proxy.Isolate(old);
            var alone = await connection.CommandAsync("ADD", "alone", "any", "Alone", "{}");
            Assert.False(alone.IsError(), RespText.Describe(alone) + "\n" + member.Output);
        }

        // The next leader's first entry (its no-op) takes the index of that write; nothing is written after it. DotNext
        // never hands a no-op to the state machine, so only the check against its applied index finds the divergence.
        _ = await cluster.WaitForLeaderAsync(Generous, except: old);
        proxy.Heal();
        await AssertReplacedByCopyAsync(cluster, member, "a leader's no-op");
        var events = await TestCluster.AllEventsAsync(member);
        Assert.Single(events);
        Assert.Contains("\"type\":\"Before\"", events[0], StringComparison.Ordinal);
    }

    /// <summary>The member logs why its store diverged, installs a copy, and every member converges.</summary>
    private static async Task AssertReplacedByCopyAsync(TestCluster cluster, ServerProcess member, string why)
    {
        var wait = Stopwatch.StartNew();
        while (!member.Output.Contains("installed the store copied from", StringComparison.Ordinal) && wait.Elapsed < Generous)
        {
            await Task.Delay(100);
        }

        Assert.True(member.Output.Contains(why, StringComparison.Ordinal), cluster.Output);
        Assert.True(member.Output.Contains("installed the store copied from", StringComparison.Ordinal), cluster.Output);
        await cluster.WaitForConvergenceAsync(Generous);
    }

    [Fact]
    public async Task Async_writes_reach_every_member()
    {
        await using var cluster = await TestCluster.StartAsync(3, "--replication", "async");
        for (int i = 0; i < 50; i++)
        {
            var reply = await cluster.WriteAsync("ADD", "orders", "any", "Placed", $$"""{"n":{{i}}}""");
            Assert.False(reply.IsError(), RespText.Describe(reply));
        }

        await cluster.WaitForConvergenceAsync(Generous);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        var info = (await TestCluster.CommandAsync(cluster.Members[leader], "INFO", "cluster")).Str();
        Assert.Contains("cluster_replication:async", info, StringComparison.Ordinal);
        Assert.Equal(50, (await TestCluster.AllEventsAsync(cluster.Members[(leader + 1) % 3])).Count);
    }
}
