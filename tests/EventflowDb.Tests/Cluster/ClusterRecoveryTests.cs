using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// Issue 16: a member's store that loses writes or fails must never diverge from the others. At start a member applies
/// every committed entry its store lacks (judged by the store itself, not by a recorded Raft index); a member whose store
/// fails stops applying, hands leadership over, and catches up once restarted.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class ClusterRecoveryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private static readonly string Pad = new('x', 60_000);

    private static string Add(string stream, string messageId, string pad = "") =>
        JsonSerializer.Serialize(new { stream, version = "any", events = new[] { new { type = "T", data = new { m = messageId, pad }, message_id = messageId } } });

    [Fact]
    public async Task A_member_whose_store_lost_its_tail_to_repair_gets_those_events_back_from_the_Raft_log()
    {
        await using var cluster = await TestCluster.StartAsync();
        for (int i = 0; i < 30; i++)
        {
            var reply = await cluster.WriteAsync("ADD", Add("repair", $"marker-{i:D3}-end"));
            Assert.False(reply.IsError(), RespText.Describe(reply));
        }

        await cluster.WaitForConvergenceAsync(Generous);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        int damaged = (leader + 1) % 3;
        var member = cluster.Members[damaged];
        Assert.Equal(0, await member.StopAsync());

        // One flipped bit inside event 20 of the stopped member's log: --repair keeps events 0..19 only, while its
        // raft/applied file still says that every entry was applied.
        StoreFiles.FlipBitInside(member.DataDirectory, Encoding.UTF8.GetBytes("marker-020-end"));
        await member.RestartAsync("--repair");

        await cluster.WaitForConvergenceAsync(Generous);
        var expected = await TestCluster.AllEventsAsync(cluster.Members[leader]);
        Assert.Equal(30, expected.Count);
        Assert.Equal(expected, await TestCluster.AllEventsAsync(member));

        // The restart skipped exactly the 20 entries its store still held and applied the 10 it had lost.
        var recovery = SkippedLine().Matches(member.Output);
        Assert.True(recovery.Count >= 1, $"no recovery line in the output:\n{member.Output}");
        Assert.Equal(20, int.Parse(recovery[^1].Groups[1].Value, CultureInfo.InvariantCulture));
        output.WriteLine(recovery[^1].Value);
    }

    [Fact]
    public async Task A_member_whose_disk_fills_stops_applying_hands_leadership_over_and_catches_up_after_space_is_freed()
    {
        await using var disk = await SmallFileSystem.MountAsync(256);
        var (data, raft) = DataOnSmallDisk(disk);
        string ballast = disk.FillLeaving(24L << 20);
        try
        {
            await using var cluster = await TestCluster.StartAsync([data, null, null], "--checkpoint-interval", "3600");
            var failing = cluster.Members[0];

            // Writes through whoever leads, until member 0's store fails; then some more.
            var acknowledged = new List<string>();
            var clock = Stopwatch.StartNew();
            int written = 0;
            while (!failing.Output.Contains("stops applying", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2) && written < 2_000, $"member 0's store never failed after {written} writes\n{cluster.Output}");
                string id = $"fill-{written++}";
                var reply = await cluster.WriteAsync("ADD", Add($"disk-{written % 4}", id, Pad));
                if (!reply.IsError())
                {
                    acknowledged.Add(id);
                }
                else
                {
                    Assert.Matches("^TRYAGAIN", reply.Text ?? "");
                }
            }

            output.WriteLine($"member 0's store failed after {written} writes ({acknowledged.Count} acknowledged)");

            // A leader other than member 0 takes writes, with the two healthy members as its majority.
            int leader = await cluster.WaitForLeaderAsync(Generous, except: 0);
            for (int i = 0; i < 20; i++)
            {
                string id = $"after-{i}";
                var reply = await cluster.WriteAsync("ADD", Add("after", id));
                Assert.False(reply.IsError(), RespText.Describe(reply) + cluster.Output);
                acknowledged.Add(id);
            }

            await cluster.WaitForConvergenceAsync(Generous, [1, 2]);
            leader = await cluster.WaitForLeaderAsync(Generous, except: 0);
            Assert.Equal("slave", (await TestCluster.CommandAsync(failing, "ROLE")).Arr()[0].Str());
            var refused = await TestCluster.CommandAsync(failing, "ADD", Add("after", "to-the-failed-member"));
            Assert.Matches("^(READONLY|TRYAGAIN)", refused.Text ?? "");
            long held = (await TestCluster.CommandAsync(failing, "EVENTCOUNT")).Int();
            long total = (await TestCluster.CommandAsync(cluster.Members[leader], "EVENTCOUNT")).Int();
            Assert.True(held < total, $"the failed member holds {held} events, the leader {total}");

            // Space freed, member 0 restarted: it applies what it lacks and matches the others exactly.
            Assert.Equal(0, await failing.StopAsync());
            File.Delete(ballast);
            await failing.RestartAsync();
            await cluster.WaitForConvergenceAsync(Generous);
            var events = await TestCluster.AllEventsAsync(failing);
            Assert.Equal(await TestCluster.AllEventsAsync(cluster.Members[leader]), events);
            var ids = events.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("data").GetProperty("m").GetString()).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.Empty(acknowledged.Except(ids!));
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(raft);
        }
    }

    [Fact]
    public async Task A_member_whose_group_journal_cannot_be_written_stops_applying_and_gets_the_group_entries_back_after_a_restart()
    {
        await using var disk = await SmallFileSystem.MountAsync(256);
        var (data, raft) = DataOnSmallDisk(disk);
        try
        {
            await using var cluster = await TestCluster.StartAsync([data, null, null], "--checkpoint-interval", "3600");
            var failing = cluster.Members[0];
            for (int i = 0; i < 400; i++)
            {
                var reply = await cluster.WriteAsync("ADD", Add("jobs", $"job-{i}"));
                Assert.False(reply.IsError(), RespText.Describe(reply));
            }

            await cluster.CreateGroupAsync("workers", "stream:jobs", "0");
            await cluster.WaitForConvergenceAsync(Generous);

            // Only group entries from here: nothing but the journal grows on member 0's disk.
            string ballast = disk.FillLeaving(8 << 10);
            var clock = Stopwatch.StartNew();
            int reads = 0;
            while (!failing.Output.Contains("stops applying", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2) && reads < 400, $"member 0 never stopped after {reads} group reads\n{cluster.Output}");
                reads++;
                var read = await cluster.WriteAsync("GROUP", "READ", "workers", "alice", "COUNT", "1");
                Assert.False(read.IsError() && !(read.Text ?? "").StartsWith("TRYAGAIN", StringComparison.Ordinal), RespText.Describe(read) + cluster.Output);
            }

            output.WriteLine($"member 0's group journal failed after {reads} group reads");

            // The two healthy members go on with group changes; member 0 takes none.
            int leader = await cluster.WaitForLeaderAsync(Generous, except: 0);
            for (int i = 0; i < 5; i++)
            {
                var read = await cluster.WriteAsync("GROUP", "READ", "workers", "bob", "COUNT", "1");
                Assert.False(read.IsError(), RespText.Describe(read) + cluster.Output);
            }

            Assert.Equal("slave", (await TestCluster.CommandAsync(failing, "ROLE")).Arr()[0].Str());

            // Space freed and restarted: its journal gets the entries it lacked, and its groups equal the leader's.
            int code = await failing.StopAsync();
            Assert.True(code == 0, failing.Output);
            File.Delete(ballast);
            await failing.RestartAsync();
            await cluster.WaitForConvergenceAsync(Generous);
            leader = await cluster.WaitForLeaderAsync(Generous);
            var clockGroups = Stopwatch.StartNew();
            string expected = RespText.Describe(await TestCluster.CommandAsync(cluster.Members[leader], "GROUP", "INFO"));
            string groups;
            while ((groups = RespText.Describe(await TestCluster.CommandAsync(failing, "GROUP", "INFO"))) != expected && clockGroups.Elapsed < Generous)
            {
                await Task.Delay(100);
                expected = RespText.Describe(await TestCluster.CommandAsync(cluster.Members[leader], "GROUP", "INFO"));
            }

            Assert.Equal(expected, groups);
            Assert.Contains("bob", groups, StringComparison.Ordinal);
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(raft);
        }
    }

    /// <summary>
    /// A data directory for member 0 on the small file system (its store and consumer-group journal), with its Raft log
    /// elsewhere (a full Raft log is another story); the Raft directory is the caller's to delete.
    /// </summary>
    private static (string Data, string Raft) DataOnSmallDisk(SmallFileSystem disk)
    {
        string data = Path.Combine(disk.Path, "data");
        string raft = ServerProcess.NewTempDirectory();
        Directory.CreateDirectory(data);
        Directory.CreateSymbolicLink(Path.Combine(data, "raft"), raft);
        return (data, raft);
    }

    [GeneratedRegex(@"Cluster recovery: skipped (\d+) writes already in the store")]
    private static partial Regex SkippedLine();
}
