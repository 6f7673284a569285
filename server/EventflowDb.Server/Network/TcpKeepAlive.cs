using System.Net.Sockets;

namespace EventflowDb.Server.Network;

/// <summary><c>--tcp-keepalive</c> on an accepted socket, as Redis sets it.</summary>
internal static class TcpKeepAlive
{
    /// <summary>
    /// Zero turns keepalive off. Otherwise SO_KEEPALIVE, the first probe after <paramref name="interval"/> of silence
    /// (TCP_KEEPIDLE), then probes every third of it (TCP_KEEPINTVL, at least 1 s), and the peer is declared dead after
    /// 3 unanswered probes (TCP_KEEPCNT): a vanished client is found within about twice the interval.
    /// </summary>
    public static void Apply(Socket socket, TimeSpan interval)
    {
        int seconds = (int)Math.Min(interval.TotalSeconds, int.MaxValue);
        if (seconds <= 0)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, false);
            return;
        }

        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, seconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, seconds / 3));
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
    }
}
