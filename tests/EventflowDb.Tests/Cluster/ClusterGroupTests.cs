using System.Diagnostics;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Http;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>Consumer groups in a cluster: decided by the leader, carried by the Raft log, kept across a failover and restarts.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterGroupTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_groups_position_and_pending_set_survive_the_loss_of_the_leader_and_followers_refuse_group_writes()
    {
        await using var cluster = await TestCluster.StartAsync(3, http: true);
        var ids = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            var added = await cluster.WriteAsync("ADD", "jobs", "any", "Job", $"{{\"n\":{i}}}");
            Assert.False(added.IsError(), RespText.Describe(added) + cluster.Output);
            ids.Add(IdsOf(added)[0]);
        }

        const int AckTimeoutMs = 8000;
        await cluster.CreateGroupAsync("workers", "stream:jobs", "0", "ACKTIMEOUT", AckTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var alice = await cluster.WriteAsync("GROUP", "READ", "workers", "alice", "COUNT", "2");
        var aliceRead = Stopwatch.StartNew();
        Assert.Equal(ids[..2], IdsOf(alice));
        Assert.Equal(ids[2..3], IdsOf(await cluster.WriteAsync("GROUP", "READ", "workers", "bob", "COUNT", "1")));
        Assert.Equal(1, (await cluster.WriteAsync("GROUP", "ACK", "workers", ids[1])).Int());
        Assert.Equal(1, (await cluster.WriteAsync("GROUP", "ACK", "workers", ids[2])).Int());

        // Every member holds the same group state: position at the third event, the first pending for alice.
        string expected = $"position={ids[2]} pending={ids[0]}:alice:1 parked=0 consumers=alice,bob";
        await WaitForGroupStateAsync(cluster, "workers", expected);

        // GROUP writes on a follower get the same refusal as other writes; its reads serve the replicated state.
        int leader = await cluster.WaitForLeaderAsync(Generous);
        int follower = (leader + 1) % 3;
        foreach (string[] write in new[]
        {
            new[] { "GROUP", "READ", "workers", "carol" },
            ["GROUP", "ACK", "workers", ids[0]],
            ["GROUP", "NACK", "workers", ids[0], "RETRY"],
            ["GROUP", "CREATE", "other", "$all"],
            ["GROUP", "REPLAY", "workers"],
            ["GROUP", "DELETE", "workers"],
        })
        {
            var refused = await TestCluster.CommandAsync(cluster.Members[follower], write);
            Assert.True(refused.IsError(), string.Join(' ', write) + ": " + RespText.Describe(refused));
            Assert.StartsWith("READONLY You can't write against a read only replica. leader=127.0.0.1:", refused.Text);
        }

        using (var followerHttp = new HttpApi(cluster.Members[follower]))
        {
            var replay = await followerHttp.Client.PostAsync(new Uri("/groups/workers/replay", UriKind.Relative), null);
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, replay.StatusCode);
            Assert.Contains("READONLY", await replay.Content.ReadAsStringAsync());
        }

        Assert.Equal(expected, await GroupStateAsync(cluster.Members[follower], "workers"));

        // kill -9 the leader: the new leader has the same position and pending set.
        await cluster.Members[leader].KillAsync();
        int next = await cluster.WaitForLeaderAsync(Generous, except: leader);
        Assert.Equal(expected, await GroupStateAsync(cluster.Members[next], "workers"));

        // Not yet due: only the undelivered fourth event (acked ones are never delivered again).
        var carol = await cluster.WriteAsync("GROUP", "READ", "workers", "carol", "COUNT", "10");
        bool beforeDeadline = aliceRead.ElapsedMilliseconds < AckTimeoutMs - 1000;
        output.WriteLine($"carol's first read {aliceRead.ElapsedMilliseconds} ms after alice's: {string.Join(",", IdsOf(carol))}");
        if (beforeDeadline)
        {
            Assert.Equal(ids[3..], IdsOf(carol));
        }

        // After the ack timeout (the old leader's deadline, in wall-clock ms), the new leader redelivers alice's event.
        var redelivered = IdsOf(carol).Contains(ids[0]) ? IdsOf(carol) : IdsOf(await cluster.WriteAsync("GROUP", "READ", "workers", "carol", "BLOCK", "30000"));
        Assert.Contains(ids[0], redelivered);
        Assert.DoesNotContain(ids[1], redelivered);
        Assert.DoesNotContain(ids[2], redelivered);
        Assert.True(aliceRead.ElapsedMilliseconds >= AckTimeoutMs - 500, $"redelivered after {aliceRead.ElapsedMilliseconds} ms, ack timeout {AckTimeoutMs}");
        await WaitForGroupStateAsync(cluster, "workers", $"position={ids[3]} pending={ids[0]}:carol:2,{ids[3]}:carol:1 parked=0 consumers=alice,bob,carol", except: leader);

        // The killed member comes back and catches up with the group changes it missed, applying none twice.
        Assert.Null(await cluster.Members[leader].RestartOrExitAsync());
        await WaitForGroupStateAsync(cluster, "workers", $"position={ids[3]} pending={ids[0]}:carol:2,{ids[3]}:carol:1 parked=0 consumers=alice,bob,carol");
        Assert.Equal(2, (await cluster.WriteAsync("GROUP", "ACK", "workers", ids[0], ids[3])).Int());
        Assert.Empty(IdsOf(await cluster.WriteAsync("GROUP", "READ", "workers", "carol")));
        await WaitForGroupStateAsync(cluster, "workers", $"position={ids[3]} pending= parked=0 consumers=alice,bob,carol");
    }

    [Fact]
    public async Task Restarting_members_does_not_apply_group_changes_twice()
    {
        await using var cluster = await TestCluster.StartAsync(3, http: true);
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add(IdsOf(await cluster.WriteAsync("ADD", "tasks", "any", "Task", "{}"))[0]);
        }

        await cluster.CreateGroupAsync("g", "$all", "0", "ACKTIMEOUT", "300", "MAXDELIVERIES", "5");
        Assert.Equal(ids, IdsOf(await cluster.WriteAsync("GROUP", "READ", "g", "x", "COUNT", "3")));
        Assert.Equal(1, (await cluster.WriteAsync("GROUP", "ACK", "g", ids[0])).Int());
        await Task.Delay(400);
        Assert.Equal(ids[1..], IdsOf(await cluster.WriteAsync("GROUP", "READ", "g", "y", "COUNT", "3")));
        Assert.Equal(1, (await cluster.WriteAsync("GROUP", "NACK", "g", ids[2], "PARK")).Int());

        // Delivered twice (a second apply of a delivery would count three), one parked.
        string expected = $"position={ids[2]} pending={ids[1]}:y:2 parked=1 consumers=x,y";
        await WaitForGroupStateAsync(cluster, "g", expected);

        // A graceful restart of a follower, then kill -9 and restart of the leader: each replays the whole Raft log.
        int leader = await cluster.WaitForLeaderAsync(Generous);
        int follower = (leader + 1) % 3;
        Assert.Equal(0, await cluster.Members[follower].StopAsync());
        Assert.Null(await cluster.Members[follower].RestartOrExitAsync());
        await cluster.Members[leader].KillAsync();
        Assert.Null(await cluster.Members[leader].RestartOrExitAsync());
        await WaitForGroupStateAsync(cluster, "g", expected);
        foreach (int restarted in new[] { follower, leader })
        {
            Assert.Matches(@"consumer groups hold the Raft entries through index [1-9]", cluster.Members[restarted].Output);
        }

        // And the group goes on from there on whichever member leads now.
        Assert.Equal(1, (await cluster.WriteAsync("GROUP", "REPLAY", "g")).Int());
        await WaitForGroupStateAsync(cluster, "g", $"position={ids[2]} pending={ids[1]}:y:2,{ids[2]}::0 parked=0 consumers=x,y");
    }

    private static List<string> IdsOf(RespValue reply)
    {
        Assert.False(reply.IsError(), RespText.Describe(reply));
        return [.. reply.Arr().Select(e =>
        {
            using var doc = JsonDocument.Parse(e.Str());
            return doc.RootElement.GetProperty("id").GetString()!;
        })];
    }

    /// <summary>One member's view of a group: position, pending (id:consumer:deliveries), parked count and consumers.</summary>
    private static async Task<string> GroupStateAsync(ServerProcess member, string group)
    {
        using var http = new HttpApi(member);
        using var response = await http.GetAsync("/groups/" + group);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return $"HTTP {(int)response.StatusCode} {body}";
        }

        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var pending = root.GetProperty("pending_events").EnumerateArray()
            .Select(p => $"{p.GetProperty("id").GetString()}:{p.GetProperty("consumer").GetString()}:{p.GetProperty("deliveries").GetInt32()}");
        var consumers = root.GetProperty("consumers").EnumerateArray().Select(c => c.GetString());
        return $"position={root.GetProperty("position").GetString()} pending={string.Join(",", pending)} parked={root.GetProperty("parked").GetInt32()} consumers={string.Join(",", consumers)}";
    }

    private static async Task WaitForGroupStateAsync(TestCluster cluster, string group, string expected, int? except = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var states = new List<string>();
            for (int i = 0; i < cluster.Members.Count; i++)
            {
                if (i == except)
                {
                    continue;
                }

                try
                {
                    states.Add(await GroupStateAsync(cluster.Members[i], group));
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
                {
                    states.Add("unreachable: " + e.Message);
                }
            }

            if (states.TrueForAll(s => s == expected))
            {
                return;
            }

            Assert.True(clock.Elapsed < Generous, $"group state never became {expected} on every member:\n{string.Join("\n", states)}\n{cluster.Output}");
            await Task.Delay(100);
        }
    }
}
