using System.Diagnostics;
using System.Net.Sockets;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// Issue 14's measured bug: a push subscriber whose socket buffers are full and whose client then goes away
/// must not be held by the server (connected_clients drops back) and must not hold up a graceful shutdown.
/// </summary>
public sealed class StalledSubscriberTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Theory]
    [InlineData("FOLLOW", "$all", "0")]
    [InlineData("PSUBSCRIBE", "*")]
    public async Task A_stalled_subscriber_that_goes_away_is_released_and_shutdown_is_quick(params string[] subscribe)
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenAuthenticatedRawAsync();
        using var subscriber = await OutputProbe.OpenNonReaderAsync(server, OutputProbe.Request(subscribe));

        // About 6 MB of events: far more than the socket buffers and the send pipe's pause threshold hold.
        await OutputProbe.AppendAsync(c, Unique("stall"), 60, 100_000);
        Assert.Equal(2, await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 2, TimeSpan.FromSeconds(1)));
        await Task.Delay(300);

        // The client stops reading and goes away: close with unread bytes (a reset).
        subscriber.Close();
        long connected = await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 1, TimeSpan.FromSeconds(5));
        Assert.True(connected == 1, $"connected_clients stayed at {connected} after the subscriber went away");

        // A second stalled subscriber, still connected, must not hold up a graceful stop either.
        using var stalled = await OutputProbe.OpenNonReaderAsync(server, OutputProbe.Request(subscribe));
        await OutputProbe.AppendAsync(c, Unique("stall"), 30, 100_000);
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(15)));
        string output = server.Output;
        string tail = output[Math.Max(0, output.LastIndexOf("Shutting down", StringComparison.Ordinal) - 40)..];

        // The store's own close (a final index checkpoint) is not the connections' doing: on a busy machine it alone
        // can take seconds, so the bound is on the rest. The connections used to hold the stop for 10 s.
        var storeClose = System.Text.RegularExpressions.Regex.Match(tail, @"Event store closed: .*; took (\d+) ms");
        Assert.True(storeClose.Success, tail);
        var store = TimeSpan.FromMilliseconds(int.Parse(storeClose.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        TestOutput.WriteLine($"SIGTERM to exit {clock.Elapsed}, of which closing the store {store}");
        Assert.True(clock.Elapsed - store < TimeSpan.FromSeconds(2), $"shutdown took {clock.Elapsed} (the store {store}):\n{tail}");
        Assert.DoesNotContain("did not close", output, StringComparison.Ordinal);
        Assert.DoesNotContain("did not take their last replies", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stalled_subscriber_that_half_closes_is_released()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenAuthenticatedRawAsync();
        using var subscriber = await OutputProbe.OpenNonReaderAsync(server, OutputProbe.Request("FOLLOW", "$all", "0"));
        await OutputProbe.AppendAsync(c, Unique("half"), 60, 100_000);
        await Task.Delay(300);

        // FIN without reading: the server sees the end of its input while its output is still stuck.
        subscriber.Shutdown(SocketShutdown.Send);
        long connected = await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 1, TimeSpan.FromSeconds(5));
        Assert.True(connected == 1, $"connected_clients stayed at {connected} after the subscriber sent FIN");
    }
}
