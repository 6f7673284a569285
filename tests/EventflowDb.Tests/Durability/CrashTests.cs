using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>kill -9 under concurrent load: acknowledged means durable, and an ADD is all or nothing.</summary>
public sealed class CrashTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Acknowledged_adds_survive_kill_9_under_load_and_no_batch_is_partial()
    {
        var server = await StartServerAsync("--checkpoint-interval", "1");
        string prefix = Guid.NewGuid().ToString("N")[..8];
        var workload = new Workload([$"crash-{prefix}-a", $"crash-{prefix}-b", $"crash-{prefix}-c", Guid.NewGuid().ToString()]);
        List<string> previous = [];

        for (int cycle = 0; cycle < 3; cycle++)
        {
            using var stop = new CancellationTokenSource();
            var writing = workload.RunAsync(server, $"c{cycle}", 8, stop.Token);
            int delay = Random.Shared.Next(1000, 3000);
            await Task.Delay(delay);
            await server.KillAsync();
            await stop.CancelAsync();
            int acked = await writing;
            TestOutput.WriteLine($"cycle {cycle}: killed after {delay} ms; {acked} ADDs acknowledged this cycle, {workload.Acked.Count} in all, {workload.Sent.Count} sent in all");
            Assert.True(acked > 0, $"cycle {cycle}: no ADD was acknowledged in {delay} ms");

            await server.RestartAsync();
            var log = await workload.VerifyAsync(server);
            Assert.True(workload.Problems.IsEmpty, string.Join("\n", workload.Problems.Take(20)));
            Assert.True(log.Count >= previous.Count, $"the log shrank from {previous.Count} to {log.Count} events");
            for (int i = 0; i < previous.Count; i++)
            {
                Assert.True(previous[i] == log[i].Raw, $"event {i} changed since the last restart:\nthen: {previous[i]}\nnow:  {log[i].Raw}");
            }

            await ResendAsync(server, workload, log);

            // A graceful restart changes nothing.
            var before = await RestartTests.Snapshot.ReadAsync(server);
            Assert.Equal(0, await server.StopAsync());
            await server.RestartAsync();
            var after = await RestartTests.Snapshot.ReadAsync(server);
            before.AssertSameStore(after);
            previous = after.Log;
        }
    }

    /// <summary>Re-sends ADDs with message ids: acknowledged ones (and unacknowledged ones that made it) come back unchanged without writing; lost ones are written now.</summary>
    private static async Task ResendAsync(ServerProcess server, Workload workload, List<StoredEvent> log)
    {
        var present = log.GroupBy(e => e.Type).ToDictionary(g => g.Key, g => g.Select(e => e.Raw).ToList(), StringComparer.Ordinal);
        var withIds = workload.Sent.Values.Where(b => b.WithMessageIds).ToList();
        var picks = withIds.Where(b => workload.Acked.ContainsKey(b.Tag)).Take(5)
            .Concat(withIds.Where(b => !workload.Acked.ContainsKey(b.Tag)).Take(5))
            .ToList();

        await using var c = await server.OpenAuthenticatedRawAsync();
        foreach (var batch in picks)
        {
            var state = await StoreState.ReadAsync(c);
            var reply = await c.EventsAsync(batch.Request);
            if (present.TryGetValue(batch.Tag, out var stored))
            {
                Assert.Equal(stored, reply.Select(e => e.Raw));
                Assert.Equal(state, await StoreState.ReadAsync(c));
            }
            else
            {
                Assert.Equal(batch.Size, reply.Count);
                Assert.Equal(state.Events + batch.Size, (await StoreState.ReadAsync(c)).Events);
                workload.Acked[batch.Tag] = [.. reply.Select(e => e.Raw)];
            }
        }
    }
}
