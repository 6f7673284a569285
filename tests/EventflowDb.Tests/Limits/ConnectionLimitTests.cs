using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// SPEC.md v2 "Limits against careless and hostile clients", connections: <c>--maxclients</c>, <c>--timeout</c>,
/// <c>--tcp-keepalive</c> (HTTP sent to the RESP port: <see cref="CrossProtocolTests"/>). Each drives the limit over a real socket, then checks that the
/// server still answers a new connection and that nothing was stored.
/// </summary>
public sealed partial class ConnectionLimitTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Opens a connection and PINGs until one is admitted (the start-up PING's connection may still be counted).</summary>
    private static async Task<RespConnection> OpenAdmittedAsync(ServerProcess server)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var c = await server.OpenRawAsync();
            try
            {
                var reply = await c.CommandAsync("PING");
                if (!reply.IsError() && reply.Str() == "PONG")
                {
                    return c;
                }

                Assert.Equal("ERR max number of clients reached", reply.Text);
            }
            catch (Exception e) when (e is EndOfStreamException or SocketException)
            {
                // Refused and closed before the PING's reply could be read.
            }

            await c.DisposeAsync();
            Assert.True(DateTime.UtcNow < deadline, "no connection was admitted");
            await Task.Delay(100);
        }
    }

    private static async Task AssertServerAnswersAsync(ServerProcess server)
    {
        await using var c = await OpenAdmittedAsync(server);
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task A_connection_beyond_maxclients_gets_the_error_and_is_closed()
    {
        var server = await StartServerAsync("--maxclients", "3");
        var admitted = new List<RespConnection>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                admitted.Add(await OpenAdmittedAsync(server));
            }

            await using (var fourth = await server.OpenRawAsync())
            {
                var refused = await fourth.ReadRawReplyAsync(Wait);
                Assert.Equal("-ERR max number of clients reached\r\n", refused.RawText);
                Assert.True(await fourth.WaitForCloseAsync(Wait), "the refused connection stayed open");
            }

            foreach (var c in admitted)
            {
                Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
            }

            // Once one closes, a new connection is admitted (the server notices the close asynchronously).
            await admitted[0].DisposeAsync();
            admitted[0] = await OpenAdmittedAsync(server);
            string stats = (await admitted[0].CommandAsync("INFO", "stats")).Str();
            long rejected = long.Parse(RejectedConnections().Match(stats).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(rejected >= 1, stats);
            Assert.Contains("max number of clients reached", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var c in admitted)
            {
                await c.DisposeAsync();
            }
        }

        await AssertServerAnswersAsync(server);
    }

    [Fact]
    public async Task Idle_connections_are_closed_but_subscribed_blocked_and_active_ones_stay()
    {
        var server = await StartServerAsync("--timeout", "2");
        string stream = Unique("idle");

        await using var idle = await server.OpenRawAsync();
        Assert.Equal("PONG", (await idle.CommandAsync("PING")).Str());
        var idleFor = Stopwatch.StartNew();

        await using var subscribed = await server.OpenRawAsync();
        Assert.Equal("subscribe", (await subscribed.CommandAsync("SUBSCRIBE", "news")).Arr()[0].Str());
        await using var following = await server.OpenRawAsync();
        Assert.Equal("subscribe", (await following.CommandAsync("FOLLOW", "$all", "0")).Arr()[0].Str());

        // A long poll twice the timeout, and a PING right behind it (so the check does not depend on how soon this
        // test gets to send one once the poll returns: the connection is idle again from then on).
        await using var blocked = await server.OpenRawAsync();
        await blocked.SendAsync(RespConnection.Encode("GET", stream, "0", "10", "BLOCK", "4000").Concat(RespConnection.Encode("PING")).ToArray());

        await using var active = await server.OpenRawAsync();
        var pinging = Task.Run(async () =>
        {
            var until = Stopwatch.StartNew();
            while (until.Elapsed < TimeSpan.FromSeconds(4))
            {
                Assert.Equal("PONG", (await active.CommandAsync("PING")).Str());
                await Task.Delay(300);
            }
        });

        Assert.True(await idle.WaitForCloseAsync(TimeSpan.FromSeconds(8)), "the idle connection stayed open");
        var closedAfter = idleFor.Elapsed;
        TestOutput.WriteLine($"idle connection closed after {closedAfter.TotalMilliseconds:F0} ms");
        Assert.InRange(closedAfter, TimeSpan.FromMilliseconds(1800), TimeSpan.FromSeconds(6));

        var poll = await blocked.ReadReplyAsync(Wait);
        Assert.Empty(poll.Arr());
        Assert.Equal("PONG", (await blocked.ReadReplyAsync(Wait)).Str());
        await pinging;

        Assert.Equal(["pong", ""], (await subscribed.CommandAsync("PING")).Strings());
        Assert.Equal(["pong", ""], (await following.CommandAsync("PING")).Strings());
        await AssertServerAnswersAsync(server);
    }

    [Fact]
    public async Task Accepted_sockets_have_the_keepalive_timer_of_the_flag()
    {
        var server = await StartServerAsync("--tcp-keepalive", "7");
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        await client.SendAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[16];
        int read = await client.ReceiveAsync(buffer);
        Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(buffer, 0, read));

        // The server's end of this connection: source port = the server's, destination port = ours.
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        string ss = await RunSsAsync("-tnoi", "state", "established", "(", "sport", "=", $":{server.Port}", "and", "dport", "=", $":{clientPort}", ")");
        TestOutput.WriteLine(ss);
        var timer = KeepaliveTimer().Match(ss);
        Assert.True(timer.Success, $"no keepalive timer on the server's socket:\n{ss}");

        // Under 7 s left (the default of 300 s would show minutes).
        double seconds = double.Parse(timer.Groups[1].Value, CultureInfo.InvariantCulture) * (timer.Groups[2].Value == "ms" ? 0.001 : 1);
        Assert.InRange(seconds, 0, 7);
    }

    private static async Task<string> RunSsAsync(params string[] args)
    {
        var info = new ProcessStartInfo("ss") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(info) ?? throw new InvalidOperationException("ss did not start");
            string stdout = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"ss {string.Join(' ', args)} exited {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            return stdout;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("ss is not installed (apt-get install iproute2); this test needs it.", e);
        }
    }

    [GeneratedRegex(@"rejected_connections:(\d+)")]
    private static partial Regex RejectedConnections();

    [GeneratedRegex(@"timer:\(keepalive,(\d+(?:\.\d+)?)(ms|sec),")]
    private static partial Regex KeepaliveTimer();
}
