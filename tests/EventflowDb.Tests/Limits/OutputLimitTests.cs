using System.Diagnostics;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Subscriptions;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// SPEC.md v2 <c>--client-output-buffer-limit</c>, over real sockets with small limits: a client whose unsent output
/// passes the hard limit or stays over the soft one is disconnected, logged and counted, while the server answers
/// everybody else, the store is unchanged and the server's memory comes back; a slow reader that keeps reading is not.
/// </summary>
public sealed class OutputLimitTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string Limits = "normal 1mb 512kb 2 pubsub 1mb 512kb 2";
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(8);

    private Task<ServerProcess> StartLimitedServerAsync() =>
        StartServerAsync("--client-output-buffer-limit", Limits);

    [Fact]
    public async Task A_normal_client_that_pipelines_big_pages_and_never_reads_is_disconnected()
    {
        var server = await StartLimitedServerAsync();
        await using var c = await server.OpenRawAsync();
        string stream = Unique("big");
        await OutputProbe.AppendAsync(c, stream, 20, 10_000);
        var before = await StoreState.ReadAsync(c);
        Assert.Equal(20, (await c.CommandAsync("GET", stream, "0", "1000")).Arr().Count); // the read path loaded once
        long rss = OutputProbe.ResidentBytes(server.ProcessId);

        // 400 pipelined GETs of a 200 KB page: 80 MB of replies for a client that reads nothing.
        using var greedy = await OutputProbe.OpenNonReaderAsync(server, OutputProbe.Repeat(OutputProbe.Request("GET", stream, "0", "1000"), 400));
        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "client_output_buffer_limit_disconnections", n => n >= 1, Soon));
        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 1, Soon));
        Assert.True(await OutputProbe.ClosedByServerAsync(greedy, Soon), "the server did not close the connection");

        await AssertServerFineAsync(server, c, before, rss);
        Assert.Matches(@"WRN\] Client \d+ .* \(class normal\) disconnected: \d+ bytes of unsent output passed its (hard|soft) limit", server.Output);
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_is_disconnected_and_resumes_with_follow_losing_nothing()
    {
        var server = await StartLimitedServerAsync();
        await using var c = await server.OpenRawAsync();
        string stream = Unique("feed");

        // 12 MB in the log: more than the socket buffers hold, so the rest waits in the server's send pipe.
        await OutputProbe.AppendAsync(c, stream, 120, 100_000);
        var before = await StoreState.ReadAsync(c);

        // One subscriber that reads it all first, so what a catch-up loads once (code, log pages read back from disk)
        // is in the baseline: what is measured after is only what the stalled client could leave behind.
        await using (var warmUp = await server.OpenRawAsync())
        {
            await warmUp.FollowAsync("stream:" + stream, "0");
            Assert.Equal(120, (await warmUp.ReadDeliveriesAsync(120, TimeSpan.FromSeconds(30))).Count);
        }

        long rss = OutputProbe.ResidentBytes(server.ProcessId);

        using var stalled = await OutputProbe.OpenNonReaderAsync(server, OutputProbe.Request("FOLLOW", "stream:" + stream, "0"));
        var clock = Stopwatch.StartNew();
        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "client_output_buffer_limit_disconnections", n => n >= 1, Soon));
        TestOutput.WriteLine($"disconnected after {clock.Elapsed}");
        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 1, Soon));
        Assert.True(await OutputProbe.ClosedByServerAsync(stalled, Soon), "the server did not close the connection");
        await AssertServerFineAsync(server, c, before, rss);
        Assert.Matches(@"WRN\] Client \d+ .* \(class pubsub\) disconnected: \d+ bytes of unsent output passed its soft limit", server.Output);

        // Nothing stored is lost: FOLLOW from the start delivers every event, in order.
        await using var again = await server.OpenRawAsync();
        await again.FollowAsync("stream:" + stream, "0");
        var got = await again.ReadDeliveriesAsync(120, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 120).Select(v => (long)v), got.Select(d => d.Event.Version));
    }

    [Fact]
    public async Task Slow_readers_that_keep_reading_below_the_limits_are_not_disconnected()
    {
        var server = await StartLimitedServerAsync();
        await using var c = await server.OpenRawAsync();
        string stream = Unique("slow");
        await OutputProbe.AppendAsync(c, stream, 100, 100_000);

        // A subscriber catching up on 10 MB at about 2.5 MB/s: its send pipe fills to the window and drains again.
        await using var subscriber = await server.OpenRawAsync();
        await subscriber.FollowAsync("stream:" + stream, "0");
        var got = new List<Delivery>();
        for (int i = 0; i < 100; i++)
        {
            got.Add(await subscriber.ReadDeliveryAsync(TimeSpan.FromSeconds(30)));
            await Task.Delay(40);
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(v => (long)v), got.Select(d => d.Event.Version));

        // A normal client that pipelines a few big pages and reads them slowly.
        await using var reader = await server.OpenRawAsync();
        await reader.SendAsync(OutputProbe.Repeat(OutputProbe.Request("GET", stream, "0", "4"), 2));
        for (int i = 0; i < 2; i++)
        {
            await Task.Delay(500);
            Assert.Equal(4, (await reader.ReadReplyAsync()).Arr().Count);
        }

        Assert.Equal(0, await OutputProbe.InfoFieldAsync(c, "client_output_buffer_limit_disconnections"));
        Assert.Contains(" omem=", (await c.CommandAsync("CLIENT", "LIST")).Str(), StringComparison.Ordinal);
        Assert.Equal(3, await OutputProbe.InfoFieldAsync(c, "connected_clients"));
        Assert.Equal(["pong", ""], await subscriber.ReadFrameAfterAsync("PING"));
    }

    /// <summary>Others are served, the store did not change, and the server's memory came back near where it was.</summary>
    private async Task AssertServerFineAsync(ServerProcess server, RespConnection c, StoreState before, long rssBefore)
    {
        await using var other = await server.OpenRawAsync();
        Assert.Equal("PONG", (await other.CommandAsync("PING")).Str());
        Assert.Equal(before, await StoreState.ReadAsync(other));
        Assert.Equal(before, await StoreState.ReadAsync(c));
        long rssAfter = OutputProbe.ResidentBytes(server.ProcessId);
        TestOutput.WriteLine($"VmRSS before {rssBefore >> 20} MiB, after {rssAfter >> 20} MiB");
        Assert.True(rssAfter < rssBefore + (48L << 20), $"VmRSS grew from {rssBefore >> 20} MiB to {rssAfter >> 20} MiB");
    }
}
