using System.Net.Sockets;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// Subscribers that never read: by turns <c>SUBSCRIBE $all</c> and <c>FOLLOW $all 0</c> (all history, then live), on
/// sockets with a small receive buffer, and never a read. Every 5 seconds each sends a <c>PING</c> without blocking:
/// once the server has dropped the connection the send fails (the server's side answers with a reset), which is
/// counted under <see cref="Counter.StalledDropped"/> and a new stalled subscriber takes its place.
/// </summary>
internal sealed class StalledSubscribers(int count, int port, SoakCounters counters)
    : LoadWorker($"stalled subscribers ({count})", port, counters)
{
    private static readonly byte[] Ping = RespCommand.Encode("PING");
    private long _opened;

    protected override void RunSession(CancellationToken token)
    {
        var sockets = new Socket?[count];
        try
        {
            while (!token.IsCancellationRequested)
            {
                for (int i = 0; i < count; i++)
                {
                    if (sockets[i] is { } s && !StillOpen(s))
                    {
                        Counters.Add(Counter.StalledDropped);
                        s.Dispose();
                        sockets[i] = null;
                    }

                    sockets[i] ??= Open();
                }

                token.WaitHandle.WaitOne(TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            foreach (var s in sockets)
            {
                s?.Dispose();
            }
        }
    }

    private Socket Open()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        socket.Connect("127.0.0.1", Port);
        socket.Send(_opened++ % 2 == 0 ? RespCommand.Encode("SUBSCRIBE", "$all") : RespCommand.Encode("FOLLOW", "$all", "0"));
        socket.Blocking = false;
        return socket;
    }

    private static bool StillOpen(Socket socket)
    {
        try
        {
            socket.Send(Ping);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
        {
            return true; // the server does not read either: its input is full, the connection is still there
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
