using System.Diagnostics;
using System.Globalization;
using EventflowDb.Tests.Harness;
using Xunit;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// SPEC "Cluster (v1)": INFO cluster lists each member's last replicated position and lag; INFO replication and ROLE
/// carry each replica's offset as Redis does. The leader reads them from DotNext's per-member replication state.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterProgressTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_leader_reports_each_followers_replicated_index_and_lag_and_sees_a_frozen_follower_fall_behind()
    {
        await using var cluster = await TestCluster.StartAsync();
        for (int i = 0; i < 10; i++)
        {
            var reply = await cluster.WriteAsync("ADD", "progress", "any", "Written", "{}");
            Assert.False(reply.IsError(), RespText.Describe(reply) + cluster.Output);
        }

        int leader = await cluster.WaitForLeaderAsync(Generous);
        int follower = Enumerable.Range(0, 3).First(i => i != leader);

        // In sync: both followers match the leader's last index, with no lag, in INFO cluster, INFO replication and ROLE.
        var synced = await WaitForAsync(cluster, leader, info => info.Followers.Count == 2 && info.Followers.Values.All(f => f.LagEntries == 0));
        foreach (var (_, progress) in synced.Followers)
        {
            Assert.Equal(synced.LastIndex, progress.MatchIndex);
            Assert.Equal(0, progress.LagSeconds);
        }

        string replication = (await TestCluster.CommandAsync(cluster.Members[leader], "INFO", "replication")).Str();
        long masterOffset = long.Parse(Field(replication, "master_repl_offset"), CultureInfo.InvariantCulture);
        Assert.True(masterOffset >= synced.LastIndex, replication);
        var role = (await TestCluster.CommandAsync(cluster.Members[leader], "ROLE")).Arr();
        Assert.Equal(2, role[2].Arr().Count);
        foreach (var replica in role[2].Arr())
        {
            Assert.True(long.Parse(replica.Arr()[2].Str(), CultureInfo.InvariantCulture) >= synced.LastIndex, RespText.Describe(role[2]));
        }

        // A frozen follower falls behind by what the majority keeps committing, and its lag in seconds grows.
        TestCluster.Signal("STOP", cluster.Members[follower].ProcessId);
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var reply = await TestCluster.CommandAsync(cluster.Members[leader], "ADD", "progress", "any", "WhileFrozen", "{}");
                Assert.False(reply.IsError(), RespText.Describe(reply) + cluster.Output);
            }

            string frozenClient = $"127.0.0.1:{cluster.Members[follower].Port}";
            var behind = await WaitForAsync(cluster, leader, info => info.Followers.TryGetValue(frozenClient, out var p) && p.LagEntries >= 20 && p.LagSeconds >= 1);
            Assert.True(behind.Followers[frozenClient].MatchIndex <= behind.LastIndex - 20);
            Assert.Contains(behind.Followers, f => f.Key != frozenClient && f.Value.LagEntries == 0);
        }
        finally
        {
            TestCluster.Signal("CONT", cluster.Members[follower].ProcessId);
        }

        // Woken, it catches up and reads as in sync again.
        await WaitForAsync(cluster, leader, info => info.Followers.Count == 2 && info.Followers.Values.All(f => f.LagEntries == 0 && f.LagSeconds == 0));
    }

    private sealed record LeaderView(long LastIndex, Dictionary<string, (long MatchIndex, long LagEntries, long LagSeconds)> Followers);

    /// <summary>Polls the leader's INFO cluster until <paramref name="condition"/> holds.</summary>
    private static async Task<LeaderView> WaitForAsync(TestCluster cluster, int leader, Func<LeaderView, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            last = (await TestCluster.CommandAsync(cluster.Members[leader], "INFO", "cluster")).Str();
            var view = Parse(last);
            if (condition(view))
            {
                return view;
            }

            if (clock.Elapsed > Generous)
            {
                throw new TimeoutException($"the leader's INFO cluster never showed the expected progress:\n{last}");
            }

            await Task.Delay(100);
        }
    }

    private static LeaderView Parse(string info)
    {
        long lastIndex = long.Parse(Field(info, "cluster_last_index"), CultureInfo.InvariantCulture);
        var followers = new Dictionary<string, (long, long, long)>();
        foreach (string line in info.Split("\r\n"))
        {
            if (!line.StartsWith("member", StringComparison.Ordinal) || line.Contains("self=1", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',')
                .Select(f => f.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
            // An empty match_index: the member has not answered in this leadership yet.
            if (fields.TryGetValue("match_index", out string? match) && match.Length > 0)
            {
                followers[fields["client"]] = (long.Parse(match, CultureInfo.InvariantCulture), long.Parse(fields["lag_entries"], CultureInfo.InvariantCulture), long.Parse(fields["lag_seconds"], CultureInfo.InvariantCulture));
            }
        }

        return new LeaderView(lastIndex, followers);
    }

    private static string Field(string info, string key) =>
        info.Split("\r\n").First(l => l.StartsWith(key + ":", StringComparison.Ordinal))[(key.Length + 1)..];

}
