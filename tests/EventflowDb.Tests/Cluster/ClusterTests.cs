using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>Issue 16: three real server processes on Raft: replication, READONLY, failover, catch-up.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static string Add(string stream, string messageId) =>
        JsonSerializer.Serialize(new { stream, version = "any", events = new[] { new { type = "T", data = new { m = messageId }, message_id = messageId } } });

    [Fact]
    public async Task A_leader_is_elected_its_writes_reach_every_member_identically_and_followers_refuse_writes()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.WaitForLeaderAsync(Generous);
        var clientPorts = cluster.Members.Select(m => (long)m.Port).ToList();

        // A single event and a batch, on the leader (found again if an election on a loaded machine moved it).
        var one = await cluster.WriteAsync("ADD", "orders", "any", "Placed", "{\"n\":1}");
        Assert.False(one.IsError(), RespText.Describe(one) + cluster.Output);
        var batch = await cluster.WriteAsync("ADD", "orders", "1", "Paid", "{\"n\":2}", "Shipped", "{\"n\":3}");
        Assert.Equal(2, batch.Arr().Count);
        var lifecycle = await cluster.WriteAsync("STREAMMETA", "orders", "SET", "maxCount", "0", "maxAge", "0");
        Assert.False(lifecycle.IsError(), RespText.Describe(lifecycle));
        var snapshot = await cluster.WriteAsync("SNAPSHOT", "SAVE", "orders", "2", "{\"total\":3}");
        Assert.False(snapshot.IsError(), RespText.Describe(snapshot));

        await cluster.WaitForConvergenceAsync(Generous);
        var expected = await TestCluster.AllEventsAsync(cluster.Members[0]);
        Assert.Equal(3, expected.Count);
        // CHECKSUM and EVENTCOUNT do not cover snapshots: member 0 may be a follower that learns of the commit later.
        await WaitUntilAsync(async () => (await TestCluster.CommandAsync(cluster.Members[0], "SNAPSHOT", "GET", "orders")).Type is not EventflowDb.Protocol.RespType.Null, Generous);
        string expectedSnapshot = (await TestCluster.CommandAsync(cluster.Members[0], "SNAPSHOT", "GET", "orders")).Str();
        Assert.Contains("\"added_at\"", expectedSnapshot);
        for (int i = 1; i < cluster.Members.Count; i++)
        {
            // Same id, position, version and added_at: the same bytes; the snapshot carries the leader's time too.
            Assert.Equal(expected, await TestCluster.AllEventsAsync(cluster.Members[i]));
            await WaitUntilAsync(async () => (await TestCluster.CommandAsync(cluster.Members[i], "SNAPSHOT", "GET", "orders")).Type is not EventflowDb.Protocol.RespType.Null, Generous);
            Assert.Equal(expectedSnapshot, (await TestCluster.CommandAsync(cluster.Members[i], "SNAPSHOT", "GET", "orders")).Str());
        }

        // A write on a follower names the leader's client address.
        int leader = await cluster.WaitForLeaderAsync(Generous);
        int follower = (leader + 1) % 3;
        var refused = await TestCluster.CommandAsync(cluster.Members[follower], "ADD", "orders", "any", "Placed", "{}");
        Assert.True(refused.IsError());
        Assert.StartsWith("READONLY You can't write against a read only replica. leader=127.0.0.1:", refused.Text);
        Assert.Contains(long.Parse(refused.Text!.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture), clientPorts);
        var refusedDelete = await TestCluster.CommandAsync(cluster.Members[follower], "DELETE", "orders");
        Assert.StartsWith("READONLY", refusedDelete.Text);

        // Discovery as Redis clients do it.
        var role = (await TestCluster.CommandAsync(cluster.Members[follower], "ROLE")).Arr();
        Assert.Equal("slave", role[0].Str());
        Assert.Equal("127.0.0.1", role[1].Str());
        Assert.Contains(role[2].Int(), clientPorts);
        string info = (await TestCluster.CommandAsync(cluster.Members[follower], "INFO", "replication")).Str();
        Assert.Contains("role:slave", info);
        Assert.Contains("master_port:", info);
        await cluster.WaitUntilLeaderReportsAsync("connected_slaves:2", Generous);
        await cluster.WaitUntilLeaderReportsAsync("cluster_members:3", Generous);
        string clusterInfo = (await TestCluster.CommandAsync(cluster.Members[follower], "INFO", "cluster")).Str();
        Assert.Contains("cluster_enabled:0", clusterInfo);
        Assert.Contains("cluster_leader:127.0.0.1:", clusterInfo);

        // StackExchange.Redis given every member's address finds the leader and sends writes there.
        var options = new StackExchange.Redis.ConfigurationOptions { AbortOnConnectFail = false, ConnectTimeout = 15_000, AsyncTimeout = 30_000, SyncTimeout = 30_000 };
        foreach (var member in cluster.Members)
        {
            options.EndPoints.Add(System.Net.IPAddress.Loopback, member.Port);
        }

        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options))
        {
            var masters = cluster.Members.Where(m => !redis.GetServer(System.Net.IPAddress.Loopback, m.Port).IsReplica).ToList();
            Assert.Single(masters);
            var added = await redis.GetDatabase().ExecuteAsync("ADD", "redis-client", "any", "Seen", "{}");
            Assert.False(added.IsNull);
        }

        // A member whose data directory is emptied catches up by itself.
        leader = await cluster.WaitForLeaderAsync(Generous);
        int wiped = (leader + 2) % 3;
        await cluster.Members[wiped].KillAsync();
        foreach (string entry in Directory.EnumerateFileSystemEntries(cluster.Members[wiped].DataDirectory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }

        var more = await cluster.WriteAsync("ADD", "orders", "any", "Closed", "{\"n\":4}");
        Assert.False(more.IsError(), RespText.Describe(more));
        Assert.Null(await cluster.Members[wiped].RestartOrExitAsync());
        await cluster.WaitForConvergenceAsync(Generous);
        Assert.Equal(await TestCluster.AllEventsAsync(cluster.Members[(wiped + 1) % 3]), await TestCluster.AllEventsAsync(cluster.Members[wiped]));
    }

    [Fact]
    public async Task Killing_the_leader_under_load_loses_no_acknowledged_event_and_a_restarted_member_catches_up()
    {
        await using var cluster = await TestCluster.StartAsync();
        int leader = await cluster.WaitForLeaderAsync(Generous);
        var acknowledged = new ConcurrentBag<string>();
        int currentLeader = leader;
        int killed = -1;
        using var stop = new CancellationTokenSource();

        async Task WriterAsync(int writer)
        {
            for (int k = 0; !stop.IsCancellationRequested; k++)
            {
                string id = $"w{writer}-{k}";
                var deadline = Stopwatch.StartNew();
                while (true)
                {
                    try
                    {
                        var reply = await TestCluster.CommandAsync(cluster.Members[Volatile.Read(ref currentLeader)], "ADD", Add($"load-{writer}", id));
                        if (!reply.IsError())
                        {
                            acknowledged.Add(id);
                            break;
                        }
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
                    {
                    }

                    Assert.True(deadline.Elapsed < Generous, $"write {id} never acknowledged\n{cluster.Output}");
                    await Task.Delay(20);
                    if (Volatile.Read(ref killed) is int gone && gone >= 0)
                    {
                        // After the failover: whoever leads now (a loaded machine may hold more than one election).
                        try
                        {
                            Volatile.Write(ref currentLeader, await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(5), except: gone));
                        }
                        catch (TimeoutException)
                        {
                        }
                    }
                }
            }
        }

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() => WriterAsync(w))).ToArray();
        await WaitUntilAsync(() => acknowledged.Count >= 40, Generous, cluster);

        cluster.Members[leader].SignalKill();
        Volatile.Write(ref killed, leader);
        var failover = Stopwatch.StartNew();
        int next = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(5), except: leader);
        output.WriteLine($"new leader after {failover.ElapsedMilliseconds} ms");
        await cluster.Members[leader].KillAsync();
        Volatile.Write(ref currentLeader, next);

        int before = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= before + 40, Generous, cluster);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var survivors = Enumerable.Range(0, 3).Where(i => i != leader).ToList();
        await cluster.WaitForConvergenceAsync(Generous, survivors);
        foreach (int i in survivors)
        {
            AssertComplete(await TestCluster.AllEventsAsync(cluster.Members[i]), acknowledged, cluster);
        }

        // The killed member, restarted with its data, catches up without duplicates.
        Assert.Null(await cluster.Members[leader].RestartOrExitAsync());
        await cluster.WaitForConvergenceAsync(Generous);
        AssertComplete(await TestCluster.AllEventsAsync(cluster.Members[leader]), acknowledged, cluster);
        // Its restart found in its own store at least the 40 writes it had acknowledged as leader, and skipped them.
        var skipped = System.Text.RegularExpressions.Regex.Match(cluster.Members[leader].Output, @"Cluster recovery: skipped (\d+) writes already in the store");
        Assert.True(skipped.Success, $"no recovery line in the restarted member's output:\n{cluster.Members[leader].Output}");
        Assert.True(int.Parse(skipped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 40, skipped.Value);
    }

    [Fact]
    public async Task A_leader_frozen_with_SIGSTOP_acknowledges_nothing_the_new_leader_lacks()
    {
        await using var cluster = await TestCluster.StartAsync();
        var before = await cluster.WriteAsync("ADD", "frozen", "any", "Before", "{}");
        Assert.False(before.IsError(), RespText.Describe(before));
        int old = await cluster.WaitForLeaderAsync(Generous);
        await using var stale = await RespConnection.OpenAsync(cluster.Members[old].Port, TimeSpan.FromSeconds(60));

        TestCluster.Signal("STOP", cluster.Members[old].ProcessId);
        try
        {
            // Sent while it is frozen: it reaches the old leader only when it wakes, after the others elected a new one.
            await stale.SendCommandAsync("ADD", "frozen", "any", "FromTheFrozenLeader", "{}");
            int next = await cluster.WaitForLeaderAsync(Generous, except: old);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 5;)
            {
                var reply = await TestCluster.CommandAsync(cluster.Members[next], "ADD", "frozen", "any", "New", "{}");
                if (reply.IsError() && (reply.Text ?? "").Split(' ')[0] is "READONLY" or "TRYAGAIN" && clock.Elapsed < Generous)
                {
                    // A loaded machine may hold another election among the two awake members: write to its winner.
                    next = await cluster.WaitForLeaderAsync(Generous, except: old);
                    continue;
                }

                Assert.False(reply.IsError(), RespText.Describe(reply) + cluster.Output);
                i++;
            }
        }
        finally
        {
            TestCluster.Signal("CONT", cluster.Members[old].ProcessId);
        }

        var answer = await stale.ReadReplyAsync();
        await cluster.WaitForConvergenceAsync(Generous);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        var events = await TestCluster.AllEventsAsync(cluster.Members[leader]);
        if (!answer.IsError())
        {
            // Acknowledged: then it was committed by a majority, so the leader of now holds it.
            foreach (var e in answer.Arr())
            {
                Assert.Contains(e.Str(), events);
            }
        }
        else
        {
            Assert.Matches("^(TRYAGAIN|READONLY)", answer.Text ?? "");
        }

        output.WriteLine($"the frozen leader answered: {RespText.Describe(answer)}");
        Assert.Equal(events.Count, events.Distinct().Count());
    }


    /// <summary>Every acknowledged write present exactly once; positions without gaps; no event twice.</summary>
    private static void AssertComplete(List<string> events, IEnumerable<string> acknowledged, TestCluster cluster)
    {
        var ids = new List<string>();
        for (int i = 0; i < events.Count; i++)
        {
            using var doc = JsonDocument.Parse(events[i]);
            Assert.Equal(i, doc.RootElement.GetProperty("position").GetInt64());
            ids.Add(doc.RootElement.GetProperty("data").GetProperty("m").GetString()!);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        var missing = acknowledged.Except(ids).ToList();
        Assert.True(missing.Count == 0, $"acknowledged but missing: {string.Join(",", missing.Take(20))}\n{cluster.Output}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"condition not met within {timeout}");
            await Task.Delay(50);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, TestCluster cluster)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"condition not met within {timeout}\n{cluster.Output}");
            await Task.Delay(20);
        }
    }
}
