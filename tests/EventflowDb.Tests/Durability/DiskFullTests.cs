using System.Globalization;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Subscriptions;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>
/// A real full disk (SPEC.md "Storage integrity (v2)"): ADDs fail with "store is read-only", reads, subscriptions and
/// PING go on, nothing acknowledged is lost, and a restart after space is freed serves everything and accepts writes.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private const string ReadOnlyError = "ERR store is read-only: ";
    private static readonly string Pad = new('x', 60_000);

    [Fact]
    public async Task Filling_the_disk_makes_adds_fail_read_only_and_a_restart_after_freeing_space_loses_nothing()
    {
        await using var disk = await SmallFileSystem.MountAsync(256);
        string data = Path.Combine(disk.Path, "data");
        Directory.CreateDirectory(data);
        // 24 MiB left for the store; the ballast is the space an operator frees. No periodic checkpoint while filling, so
        // that the log's own writes meet the full disk (a checkpoint meeting it is covered by the storage tests).
        string ballast = disk.FillLeaving(24L << 20);
        var server = await ServerProcess.StartAsync(new ServerSettings { DataDirectory = data, ExtraArgs = ["--checkpoint-interval", "3600"] });
        try
        {
            var (acknowledged, failed, reason) = await FillUntilReadOnlyAsync(server);
            output.WriteLine($"{disk.Kind}: {acknowledged.Count} ADDs acknowledged, then: {reason}");
            Assert.True(acknowledged.Count > 10, $"the disk filled after only {acknowledged.Count} ADDs; output:\n{server.Output}");

            await AssertServesAsync(server, acknowledged, readOnly: true);
            await AssertFollowDeliversAsync(server, acknowledged);

            Assert.Equal(0, await server.StopAsync());
            File.Delete(ballast);
            await server.RestartAsync();

            var log = await AssertServesAsync(server, acknowledged, readOnly: false);
            // An ADD that failed may have reached the disk whole before the failure; nothing else may appear.
            Assert.True(log.Count - acknowledged.Count <= failed, $"{log.Count - acknowledged.Count} events beyond the acknowledged ones, {failed} ADDs failed");
            await using var c = await server.OpenRawAsync();
            var added = await c.EventsAsync("ADD", "after-restart", "no_stream", "Freed", """{"ok":true}""");
            Assert.Equal(log.Count, added[0].Position);
            Assert.Equal(log.Count + 1, (await c.CommandAsync("EVENTCOUNT")).Int());
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}; server output:\n{server.Output}", e);
        }
        finally
        {
            output.WriteLine(server.Output);
            await server.DisposeAsync();
        }
    }

    /// <summary>ADDs until one is refused as read-only; returns the acknowledged events, the number of failed ADDs and the reason.</summary>
    private static async Task<(List<StoredEvent> Acknowledged, int Failed, string Reason)> FillUntilReadOnlyAsync(ServerProcess server)
    {
        var acknowledged = new List<StoredEvent>();
        await using var c = await server.OpenRawAsync();
        for (int i = 0; i < 5_000; i++)
        {
            var reply = await c.CommandAsync("ADD", $"disk-{i % 4}", "any", "Filled", $$"""{"i":{{i}},"pad":"{{Pad}}"}""");
            if (!reply.IsError())
            {
                acknowledged.AddRange(StoredEvent.ParseAll(reply.Strings()));
                continue;
            }

            Assert.StartsWith(ReadOnlyError, reply.Text, StringComparison.Ordinal);
            // Later ADDs get the same answer at once, to any stream.
            string later = await c.ErrorAsync("ADD", "elsewhere", "no_stream", "T", "{}");
            Assert.Equal(reply.Text, later);
            return (acknowledged, 2, reply.Text![ReadOnlyError.Length..]);
        }

        throw new Xunit.Sdk.XunitException($"5,000 ADDs of 60 KB and the disk never filled; output:\n{server.Output}");
    }

    /// <summary>PING, INFO, the whole log and every stream; returns the whole log, which starts with the acknowledged events.</summary>
    private static async Task<List<StoredEvent>> AssertServesAsync(ServerProcess server, List<StoredEvent> acknowledged, bool readOnly)
    {
        await using var c = await server.OpenRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Text);
        string info = (await c.CommandAsync("INFO", "persistence")).Text!;
        Assert.Contains($"read_only:{(readOnly ? 1 : 0)}", info, StringComparison.Ordinal);

        var log = await c.ReadWholeLogAsync();
        Assert.True(log.Count >= acknowledged.Count, $"{log.Count} events served, {acknowledged.Count} acknowledged");
        for (int i = 0; i < acknowledged.Count; i++)
        {
            Assert.True(acknowledged[i].Raw == log[i].Raw, $"event {i} differs:\n{acknowledged[i].Raw[..200]}\n{log[i].Raw[..Math.Min(200, log[i].Raw.Length)]}");
        }

        foreach (var stream in acknowledged.GroupBy(e => e.Stream))
        {
            var served = await c.ReadWholeStreamAsync(stream.Key);
            Assert.Equal(stream.Select(e => e.Id), served.Take(stream.Count()).Select(e => e.Id));
        }

        return log;
    }

    private static async Task AssertFollowDeliversAsync(ServerProcess server, List<StoredEvent> acknowledged)
    {
        await using var sub = await server.OpenRawAsync();
        var confirmation = await sub.ReadFrameAfterAsync("FOLLOW", "$all", "0");
        Assert.Equal("$all", confirmation[1]);
        var deliveries = await sub.ReadDeliveriesAsync(acknowledged.Count);
        Assert.Equal(acknowledged.Select(e => e.Id), deliveries.Select(d => d.Event.Id));
        Assert.Equal("pong", (await sub.ReadFrameAfterAsync("PING"))[0]!.ToLower(CultureInfo.InvariantCulture));
    }
}
