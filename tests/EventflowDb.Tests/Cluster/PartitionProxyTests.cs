using System.Net;
using System.Net.Sockets;
using EventflowDb.Testing;
using Xunit;

namespace EventflowDb.Tests.Cluster;

/// <summary>The partition proxy itself, over two in-process echo servers (this process plays the connecting member).</summary>
public sealed class PartitionProxyTests
{
    [Fact]
    public async Task The_proxy_tells_the_connecting_process_and_cuts_and_heals_links()
    {
        using var stop = new CancellationTokenSource();
        var echoes = new[] { new TcpListener(IPAddress.Loopback, 0), new TcpListener(IPAddress.Loopback, 0) };
        foreach (var e in echoes)
        {
            e.Start();
        }

        var loops = echoes.Select(e => Task.Run(() => EchoAsync(e, stop.Token))).ToArray();
        int[] front = [Harness.ServerProcess.FreePort(), Harness.ServerProcess.FreePort()];
        await using var proxy = new PartitionProxy(front, [.. echoes.Select(e => ((IPEndPoint)e.LocalEndpoint).Port)]);
        proxy.SetProcess(0, Environment.ProcessId);

        // This process is member 0: its connection to member 1's front port is told apart and forwarded.
        using var first = await ConnectAsync(front[1]);
        Assert.Equal("hello", await RoundTripAsync(first, "hello"));
        Assert.Equal(1, proxy.OpenLinks);
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await probe.ConnectAsync(IPAddress.Loopback, front[1]);
            Assert.Equal(0, proxy.FindOrigin(((IPEndPoint)probe.LocalEndPoint!).Port, front[1]));
            Assert.Equal(-1, proxy.FindOrigin(((IPEndPoint)probe.LocalEndPoint!).Port, front[0]));
        }

        // A cut closes the open link and every new one.
        proxy.Cut(0, 1);
        Assert.True(proxy.IsCut(1, 0));
        Assert.Null(await RoundTripAsync(first, "lost"));
        using (var refused = await ConnectAsync(front[1]))
        {
            Assert.Null(await RoundTripAsync(refused, "again"));
        }

        Assert.True(proxy.Refused >= 1);

        // Another member's link is untouched by that cut; isolating member 0 cuts it too.
        proxy.Heal();
        using var healed = await ConnectAsync(front[1]);
        Assert.Equal("back", await RoundTripAsync(healed, "back"));
        proxy.Isolate(0);
        Assert.Null(await RoundTripAsync(healed, "gone"));
        proxy.Heal();
        using var last = await ConnectAsync(front[0]);
        Assert.Equal("zero", await RoundTripAsync(last, "zero"));

        await stop.CancelAsync();
        foreach (var e in echoes)
        {
            e.Stop();
        }

        await Task.WhenAll(loops);
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>Sends a text and reads its echo; null when the link is closed instead.</summary>
    private static async Task<string?> RoundTripAsync(Socket socket, string text)
    {
        try
        {
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(text), SocketFlags.None);
            var buffer = new byte[64];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return n == 0 ? null : System.Text.Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static async Task EchoAsync(TcpListener listener, CancellationToken token)
    {
        var connections = new List<Task>();
        while (!token.IsCancellationRequested)
        {
            Socket s;
            try
            {
                s = await listener.AcceptSocketAsync(token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }

            connections.Add(Task.Run(async () =>
            {
                using (s)
                {
                    var buffer = new byte[64];
                    try
                    {
                        while (true)
                        {
                            int n = await s.ReceiveAsync(buffer, SocketFlags.None, token);
                            if (n == 0)
                            {
                                return;
                            }

                            await s.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, token);
                        }
                    }
                    catch (Exception e) when (e is OperationCanceledException or SocketException)
                    {
                    }
                }
            }, CancellationToken.None));
        }

        await Task.WhenAll(connections);
    }
}
