using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// Proposal batching: the leader gathers the writes that arrive while an entry is being replicated into one Raft entry.
/// Each write keeps its own stamps, expected-version check, message-id dedupe and reply, the same on every member, and a
/// restart that replays batch entries (whole, or cut in the middle by a store that lost its tail) stores each write once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class ClusterBatchTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static string Add(string stream, string messageId, object version) =>
        JsonSerializer.Serialize(new { stream, version, events = new[] { new { type = "T", data = new { m = messageId }, message_id = messageId } } });

    private static bool Redirected(RespValue reply) => reply.IsError() && (reply.Text ?? "").Split(' ')[0] is "TRYAGAIN" or "READONLY";

    [Fact]
    public async Task Concurrent_pipelined_adds_with_versions_and_message_ids_reach_every_member_once_and_survive_a_full_restart()
    {
        await using var cluster = await TestCluster.StartAsync();
        int leader = await cluster.WaitForLeaderAsync(Generous);
        const int Connections = 6;
        const int PerConnection = 40;
        var acknowledged = new HashSet<string>();
        int redirected = 0;

        async Task<List<(string Id, RespValue Reply)>> PipelineAsync(int c)
        {
            // One write of the whole pipeline: its ADDs are proposed while earlier ones replicate, so they share entries.
            var requests = new List<(string Id, string Json)>();
            for (int k = 0; k < PerConnection; k++)
            {
                requests.Add(($"c{c}-{k}", Add($"batch-{c}", $"c{c}-{k}", k)));
            }

            // A retry of write 5 (same message id, same version): stored once, answered with the first one's event.
            requests.Add(($"c{c}-5", Add($"batch-{c}", $"c{c}-5", 5)));

            // A wrong expected version: refused the same way on every member.
            requests.Add(($"c{c}-wrong", Add($"batch-{c}", $"c{c}-wrong", 1000)));
            await using var connection = await RespConnection.OpenAsync(cluster.Members[leader].Port, Generous);
            await connection.SendAsync(requests.SelectMany(r => RespConnection.Encode("ADD", r.Json)).ToArray());
            var replies = await connection.ReadRepliesAsync(requests.Count, Generous);
            return requests.Select((r, i) => (r.Id, replies[i])).ToList();
        }

        var results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(() => PipelineAsync(c))));
        for (int c = 0; c < Connections; c++)
        {
            var replies = results[c];
            if (replies.Any(r => Redirected(r.Reply)))
            {
                // An election on a loaded machine: later writes of this pipeline may miss their expected versions. Only
                // what was acknowledged is checked below.
                redirected++;
                acknowledged.UnionWith(replies.Where(r => !r.Reply.IsError()).Select(r => r.Id));
                continue;
            }

            for (int k = 0; k < PerConnection; k++)
            {
                Assert.False(replies[k].Reply.IsError(), $"{replies[k].Id}: {RespText.Describe(replies[k].Reply)}");
                acknowledged.Add(replies[k].Id);
            }

            Assert.Equal(EventId(replies[5].Reply), EventId(replies[PerConnection].Reply));
            Assert.StartsWith("WRONGVERSION", replies[PerConnection + 1].Reply.Text);
        }

        if (redirected == 0)
        {
            // Nothing moved the leadership: the writes must have shared entries.
            string info = (await TestCluster.CommandAsync(cluster.Members[leader], "INFO", "cluster")).Str();
            long entries = InfoValue(info, "cluster_entries_proposed");
            long writes = InfoValue(info, "cluster_writes_proposed");
            output.WriteLine($"{writes} writes in {entries} Raft entries");
            Assert.True(writes >= Connections * (PerConnection + 2) && entries < writes, info);
        }

        await cluster.WaitForConvergenceAsync(Generous);
        var expected = await TestCluster.AllEventsAsync(cluster.Members[0]);
        AssertOnce(expected, acknowledged);
        for (int i = 1; i < cluster.Members.Count; i++)
        {
            Assert.Equal(expected, await TestCluster.AllEventsAsync(cluster.Members[i]));
        }

        // Every member restarts: the WAL hands all batch entries over again, and each write is found in the store.
        foreach (var member in cluster.Members)
        {
            Assert.Equal(0, await member.StopAsync());
        }

        foreach (var member in cluster.Members)
        {
            await member.RestartAsync();
        }

        await cluster.WaitForLeaderAsync(Generous);
        await cluster.WaitForConvergenceAsync(Generous);
        foreach (var member in cluster.Members)
        {
            Assert.Equal(expected, await TestCluster.AllEventsAsync(member));
            var skipped = SkippedLine().Matches(member.Output);
            Assert.True(skipped.Count >= 1, $"no recovery line in the output:\n{member.Output}");
        }

        var more = await cluster.WriteAsync("ADD", Add("after-restart", "after-restart", "any"));
        Assert.False(more.IsError(), RespText.Describe(more));
        await cluster.WaitForConvergenceAsync(Generous);
    }

    [Fact]
    public async Task A_member_that_lost_the_tail_of_a_batch_applies_only_the_writes_it_lacks()
    {
        await using var cluster = await TestCluster.StartAsync();
        int leader = await cluster.WaitForLeaderAsync(Generous);
        const int Writes = 60;
        await using (var connection = await RespConnection.OpenAsync(cluster.Members[leader].Port, Generous))
        {
            var requests = Enumerable.Range(0, Writes).Select(k => RespConnection.Encode("ADD", Add("cut", $"marker-{k:D3}-end", "any")));
            await connection.SendAsync(requests.SelectMany(r => r).ToArray());
            var replies = await connection.ReadRepliesAsync(Writes, Generous);
            for (int k = 0; k < Writes; k++)
            {
                if (Redirected(replies[k]))
                {
                    // An election on a loaded machine: written again (stored once, by its message id).
                    replies[k] = await cluster.WriteAsync("ADD", Add("cut", $"marker-{k:D3}-end", "any"));
                }

                Assert.False(replies[k].IsError(), RespText.Describe(replies[k]));
            }
        }

        await cluster.WaitForConvergenceAsync(Generous);
        leader = await cluster.WaitForLeaderAsync(Generous);
        var expected = await TestCluster.AllEventsAsync(cluster.Members[leader]);
        Assert.Equal(Writes, expected.Count);
        string info = (await TestCluster.CommandAsync(cluster.Members[leader], "INFO", "cluster")).Str();
        output.WriteLine($"{InfoValue(info, "cluster_writes_proposed")} writes in {InfoValue(info, "cluster_entries_proposed")} Raft entries");

        // One flipped bit inside the event at position 30 of a follower's log: --repair keeps positions 0..29. The entry
        // that held it most likely held its neighbours too, so the restart applies part of a batch entry.
        int damaged = (leader + 1) % 3;
        var member = cluster.Members[damaged];
        Assert.Equal(0, await member.StopAsync());
        string marker;
        using (var doc = JsonDocument.Parse(expected[30]))
        {
            marker = doc.RootElement.GetProperty("data").GetProperty("m").GetString()!;
        }

        StoreFiles.FlipBitInside(member.DataDirectory, Encoding.UTF8.GetBytes(marker));
        await member.RestartAsync("--repair");

        await cluster.WaitForConvergenceAsync(Generous);
        Assert.Equal(expected, await TestCluster.AllEventsAsync(member));
        var recovery = SkippedLine().Matches(member.Output);
        Assert.True(recovery.Count >= 1, $"no recovery line in the output:\n{member.Output}");
        Assert.Equal(30, int.Parse(recovery[^1].Groups[1].Value, CultureInfo.InvariantCulture));
        output.WriteLine(recovery[^1].Value);
    }

    private static string EventId(RespValue reply)
    {
        using var doc = JsonDocument.Parse(reply.Arr()[0].Str());
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    private static long InfoValue(string info, string key)
    {
        var line = info.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return long.Parse(line[(key.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Every acknowledged write exactly once; positions without gaps; each stream's versions without gaps.</summary>
    private static void AssertOnce(List<string> events, HashSet<string> acknowledged)
    {
        var ids = new List<string>();
        var versions = new Dictionary<string, long>();
        for (int i = 0; i < events.Count; i++)
        {
            using var doc = JsonDocument.Parse(events[i]);
            var root = doc.RootElement;
            Assert.Equal(i, root.GetProperty("position").GetInt64());
            string stream = root.GetProperty("stream").GetString()!;
            long version = versions.TryGetValue(stream, out long last) ? last + 1 : 0;
            Assert.Equal(version, root.GetProperty("version").GetInt64());
            versions[stream] = version;
            ids.Add(root.GetProperty("data").GetProperty("m").GetString()!);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        var missing = acknowledged.Except(ids).ToList();
        Assert.True(missing.Count == 0, $"acknowledged but missing: {string.Join(",", missing.Take(20))}");
    }

    [GeneratedRegex(@"Cluster recovery: skipped (\d+) writes already in the store")]
    private static partial Regex SkippedLine();
}
