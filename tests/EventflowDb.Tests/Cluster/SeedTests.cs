using System.Globalization;
using EventflowDb.Server.Cluster;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// SEED (a member's whole store, served over its RESP port for a member that must rebuild its own) and
/// <see cref="SeedFetcher"/>, against real cluster members: the fetched directory is a data directory serving the same
/// events, checksum and consumer groups, and a second fetch gets what was written since (SeedRefusalTests, SeedTlsTests).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SeedTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_fetched_copy_of_a_follower_or_the_leader_serves_the_same_events_checksum_and_groups_and_a_second_fetch_gets_new_events()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        await using (var writer = await RespConnection.OpenAsync(cluster.Members[leader].Port))
        {
            // Pipelined: the leader batches them into few Raft entries.
            for (int i = 0; i < 300; i++)
            {
                await writer.SendCommandAsync("ADD", $"order-{i % 7}", "any", "Placed", $"{{\"n\":{i}}}");
            }

            foreach (var added in await writer.ReadRepliesAsync(300))
            {
                Assert.False(added.IsError(), RespText.Describe(added) + cluster.Output);
            }

            Assert.Equal("OK", (await writer.CommandAsync("GROUP", "CREATE", "billing", "category:order", "0")).Str());
            var read = (await writer.CommandAsync("GROUP", "READ", "billing", "alice", "COUNT", "5")).Arr();
            Assert.Equal(5, read.Count);
            string first = System.Text.Json.JsonDocument.Parse(read[0].Str()).RootElement.GetProperty("id").GetString()!;
            Assert.Equal(1, (await writer.CommandAsync("GROUP", "ACK", "billing", first)).Int());
        }

        await cluster.WaitForConvergenceAsync(Generous);
        string groupInfo = RespText.Describe(await TestCluster.CommandAsync(cluster.Members[leader], "GROUP", "INFO", "billing"));
        Assert.Contains("alice", groupInfo, StringComparison.Ordinal);
        var checksum = (await TestCluster.CommandAsync(cluster.Members[leader], "CHECKSUM")).Strings();
        int follower = (leader + 1) % 3;
        string root = ServerProcess.NewTempDirectory();
        try
        {
            foreach (int member in new[] { follower, leader })
            {
                string target = Path.Combine(root, $"seed-in-{member}");
                long durableBefore = await DurableIndexAsync(cluster.Members[member]);
                var result = await FetchAsync(cluster.Members[member], target);
                output.WriteLine($"member {member}: {result}");

                // The copy names the Raft index it holds every entry through: the member's durable index when it began.
                Assert.InRange(result.RaftIndex, Math.Max(1, durableBefore), await DurableIndexAsync(cluster.Members[member]));
                Assert.Equal(checksum[0], result.LastId.ToString());
                Assert.Equal(checksum[1], result.Checksum.ToString("x16", CultureInfo.InvariantCulture));
                Assert.Equal(300, result.Events);
                Assert.True(File.Exists(Path.Combine(target, "consumer-groups.journal")));
                Assert.False(Directory.Exists(Path.Combine(target, "raft")), "the Raft directory is no part of the copy");
                Assert.False(File.Exists(Path.Combine(target, "backup.json")));
                await AssertServesAsync(target, checksum, 300, groupInfo);
            }

            // More writes, then the follower's copy again: the new events are in it (its seed directory is updated in place).
            for (int i = 0; i < 40; i++)
            {
                Assert.False((await cluster.WriteAsync("ADD", "late", "any", "Placed", $"{{\"n\":{i}}}")).IsError());
            }

            await cluster.WaitForConvergenceAsync(Generous);
            var later = (await TestCluster.CommandAsync(cluster.Members[leader], "CHECKSUM")).Strings();
            string again = Path.Combine(root, $"seed-in-{follower}");
            var second = await FetchAsync(cluster.Members[follower], again);
            Assert.Equal(later[0], second.LastId.ToString());
            Assert.Equal(340, second.Events);
            await AssertServesAsync(again, later, 340, groupInfo);
            var begun = cluster.Members[follower].Output.Split('\n').Where(l => l.Contains("Seed ", StringComparison.Ordinal) || l.Contains("Backup to", StringComparison.Ordinal)).ToList();
            output.WriteLine(string.Join('\n', begun));
            Assert.Equal(2, begun.Count(l => l.Contains(" begun for client ", StringComparison.Ordinal)));
            Assert.Equal(2, begun.Count(l => l.Contains(" ended by client ", StringComparison.Ordinal)));
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(root);
        }
    }

    private static async Task<long> DurableIndexAsync(ServerProcess member)
    {
        string info = (await TestCluster.CommandAsync(member, "INFO", "cluster")).Str();
        string line = info.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("cluster_durable_index:", StringComparison.Ordinal));
        return long.Parse(line["cluster_durable_index:".Length..], CultureInfo.InvariantCulture);
    }

    private static Task<SeedResult> FetchAsync(ServerProcess member, string target) =>
        SeedFetcher.FetchAsync($"127.0.0.1:{member.Port}", SeedCredentials.None, SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None);

    /// <summary>A standalone server started on the fetched directory serves the same checksum, count and group.</summary>
    private async Task AssertServesAsync(string directory, IReadOnlyList<string> checksum, long events, string groupInfo)
    {
        await using var server = await ServerProcess.StartAsync(new ServerSettings { DataDirectory = directory });
        server.KeepDataDirectory = true;
        await using var c = await server.OpenRawAsync();
        Assert.Equal(checksum, (await c.CommandAsync("CHECKSUM")).Strings());
        Assert.Equal(events, (await c.CommandAsync("EVENTCOUNT")).Int());
        Assert.Equal(groupInfo, RespText.Describe(await c.CommandAsync("GROUP", "INFO", "billing")));
        output.WriteLine(server.Output);
    }
}
