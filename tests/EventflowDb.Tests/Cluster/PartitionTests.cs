using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// Network partitions between real members, made by <see cref="EventflowDb.Testing.PartitionProxy"/> in front of every
/// peer port: the minority side refuses writes, the majority side serves them, and after healing every member holds
/// every acknowledged event exactly once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PartitionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_isolated_leader_acknowledges_nothing_the_majority_lacks_while_the_majority_elects_a_new_one_and_serves_writes()
    {
        await using var cluster = await TestCluster.StartBehindProxyAsync();
        var proxy = cluster.Proxy!;
        int old = await cluster.WaitForLeaderAsync(Generous);
        await using var writers = new Writers(cluster, old, count: 3);
        await writers.WaitForAcknowledgedAsync(30, Generous);

        // The old leader alone on one side.
        proxy.Isolate(old);
        writers.Avoid(old);
        var failover = Stopwatch.StartNew();
        int next = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(5), except: old);
        output.WriteLine($"isolated leader {old}; member {next} leads after {failover.ElapsedMilliseconds} ms");
        Assert.NotEqual(old, next);
        writers.Target(next);

        // Writes sent to the isolated old leader: refused or timed out (unknown outcome), while the majority serves.
        var stale = new List<(string Id, RespValue? Reply)>();
        int before = writers.Acknowledged.Count;
        for (int k = 0; k < 2; k++)
        {
            string id = $"stale-{k}";
            RespValue? reply = null;
            try
            {
                await using var c = await RespConnection.OpenAsync(cluster.Members[old].Port, TimeSpan.FromSeconds(5));
                await c.SendCommandAsync("ADD", Writers.Add("stale", id));
                reply = await c.ReadReplyAsync(TimeSpan.FromSeconds(15));
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
            }

            output.WriteLine($"{id} on the isolated member: {RespText.Describe(reply)}");
            stale.Add((id, reply));
            Assert.True(reply is null || reply.IsError(), $"the isolated member acknowledged {id}: {RespText.Describe(reply)}\n{cluster.Output}");
            Assert.Matches("^(TRYAGAIN|READONLY)", reply?.Text ?? "TRYAGAIN");
        }

        await writers.WaitForAcknowledgedAsync(before + 30, Generous);
        Assert.True(writers.AcknowledgedBy.Values.Count(m => m != old) >= 30, "the majority side served fewer than 30 writes");

        // Healed: the old leader rejoins as a follower and every member converges on the same events.
        proxy.Heal();
        writers.Avoid(-1);
        int grown = writers.Acknowledged.Count;
        await writers.WaitForAcknowledgedAsync(grown + 20, Generous);
        await writers.StopAsync();
        await cluster.WaitForConvergenceAsync(Generous);
        var reference = await AssertEveryAcknowledgedEventOnceAsync(cluster, writers.Acknowledged);
        Assert.DoesNotContain(reference, e => e.Contains("\"stale-", StringComparison.Ordinal));
        int leader = await cluster.WaitForLeaderAsync(Generous);
        output.WriteLine($"after healing member {leader} leads; {writers.Acknowledged.Count} acknowledged, {reference.Count} stored on every member");
    }

    [Fact]
    public async Task Writes_go_on_while_a_follower_is_isolated_and_the_healed_follower_catches_up()
    {
        await using var cluster = await TestCluster.StartBehindProxyAsync();
        var proxy = cluster.Proxy!;
        int leader = await cluster.WaitForLeaderAsync(Generous);
        int follower = (leader + 1) % 3;
        await using var writers = new Writers(cluster, leader, count: 2);
        await writers.WaitForAcknowledgedAsync(20, Generous);

        proxy.Isolate(follower);
        writers.Avoid(follower);
        int before = writers.Acknowledged.Count;
        await writers.WaitForAcknowledgedAsync(before + 60, Generous);

        // The isolated follower refuses writes and falls behind.
        var refused = await TestCluster.CommandAsync(cluster.Members[follower], "ADD", Writers.Add("stale", "stale-f"));
        Assert.True(refused.IsError(), RespText.Describe(refused));
        long behind = (await TestCluster.CommandAsync(cluster.Members[follower], "EVENTCOUNT")).Int();
        Assert.True(behind < writers.Acknowledged.Count, $"the isolated follower holds {behind} events of {writers.Acknowledged.Count} acknowledged");

        proxy.Heal();
        writers.Avoid(-1);
        await writers.WaitForAcknowledgedAsync(writers.Acknowledged.Count + 20, Generous);
        await writers.StopAsync();
        await cluster.WaitForConvergenceAsync(Generous);
        var reference = await AssertEveryAcknowledgedEventOnceAsync(cluster, writers.Acknowledged);
        output.WriteLine($"follower {follower} held {behind} events while isolated; {reference.Count} on every member after healing");
    }

    /// <summary>Every member: the same events, positions without gaps, no message id twice, every acknowledged one present.</summary>
    private static async Task<List<string>> AssertEveryAcknowledgedEventOnceAsync(TestCluster cluster, ConcurrentQueue<string> acknowledged)
    {
        var reference = await TestCluster.AllEventsAsync(cluster.Members[0]);
        for (int i = 0; i < cluster.Members.Count; i++)
        {
            var events = i == 0 ? reference : await TestCluster.AllEventsAsync(cluster.Members[i]);
            Assert.Equal(reference, events);
            var ids = new List<string>();
            for (int p = 0; p < events.Count; p++)
            {
                using var doc = JsonDocument.Parse(events[p]);
                Assert.Equal(p, doc.RootElement.GetProperty("position").GetInt64());
                ids.Add(doc.RootElement.GetProperty("data").GetProperty("m").GetString()!);
            }

            Assert.Equal(ids.Count, ids.Distinct().Count());
            var missing = acknowledged.Except(ids).ToList();
            Assert.True(missing.Count == 0, $"member {i} lacks acknowledged {string.Join(",", missing.Take(20))}\n{cluster.Output}");
        }

        Assert.True(reference.Count >= acknowledged.Count, $"{reference.Count} events stored, {acknowledged.Count} acknowledged");
        return reference;
    }

    /// <summary>Concurrent writers of single events with message ids, each retrying an id until acknowledged (stored once).</summary>
    private sealed class Writers : IAsyncDisposable
    {
        private readonly TestCluster _cluster;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _tasks;
        private int _target;
        private int _avoid = -1;

        public Writers(TestCluster cluster, int leader, int count)
        {
            _cluster = cluster;
            _target = leader;
            _tasks = [.. Enumerable.Range(0, count).Select(w => Task.Run(() => RunAsync(w)))];
        }

        /// <summary>Acknowledged message ids.</summary>
        public ConcurrentQueue<string> Acknowledged { get; } = new();

        /// <summary>Which member acknowledged each id.</summary>
        public ConcurrentDictionary<string, int> AcknowledgedBy { get; } = new();

        public static string Add(string stream, string messageId) =>
            JsonSerializer.Serialize(new { stream, version = "any", events = new[] { new { type = "T", data = new { m = messageId }, message_id = messageId } } });

        public void Avoid(int member) => Volatile.Write(ref _avoid, member);

        public void Target(int member) => Volatile.Write(ref _target, member);

        public async Task WaitForAcknowledgedAsync(int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (Acknowledged.Count < count)
            {
                Assert.True(clock.Elapsed < timeout, $"only {Acknowledged.Count} of {count} writes acknowledged within {timeout}\n{_cluster.Output}");
                await Task.Delay(20);
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_tasks);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }

        private async Task RunAsync(int writer)
        {
            for (int k = 0; !_stop.IsCancellationRequested; k++)
            {
                string id = $"w{writer}-{k}";
                while (!_stop.IsCancellationRequested)
                {
                    int target = Volatile.Read(ref _target);
                    int avoid = Volatile.Read(ref _avoid);
                    try
                    {
                        if (target != avoid)
                        {
                            await using var c = await RespConnection.OpenAsync(_cluster.Members[target].Port, TimeSpan.FromSeconds(5));
                            await c.SendCommandAsync("ADD", Add($"part-{writer}", id));
                            var reply = await c.ReadReplyAsync(TimeSpan.FromSeconds(3));
                            if (!reply.IsError())
                            {
                                Acknowledged.Enqueue(id);
                                AcknowledgedBy[id] = target;

                                break;
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
                    {
                        // Unknown outcome: the same id again is stored once.
                    }

                    // Refused or unknown: find the leader again (on the side of the partition that can have one).
                    try
                    {
                        Volatile.Write(ref _target, await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(5), except: Volatile.Read(ref _avoid) is int a && a >= 0 ? a : null));
                    }
                    catch (TimeoutException)
                    {
                    }

                    await Task.Delay(20);
                }
            }
        }
    }
}
