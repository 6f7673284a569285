using System.IO.Pipelines;
using System.Net;
using EventflowDb.Server.Network.Tls;
using Pipelines.Sockets.Unofficial;

namespace EventflowDb.Server.Network;

/// <summary>
/// Accepts TCP connections and runs one <see cref="ClientSession"/> per connection. With <paramref name="tls"/> (the
/// TLS port's listener) each connection first completes a TLS handshake and its session speaks through it.
/// </summary>
internal sealed class RespServer(ServerContext context, bool tls = false) : SocketServer
{
    private readonly TaskCompletionSource<EndPoint> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static readonly ReadOnlyMemory<byte> MaxClientsError = "-ERR max number of clients reached\r\n"u8.ToArray();

    private volatile bool _stopping;

    public Task<EndPoint> Started => _started.Task;

    /// <summary>Stops accepting connections; the listener's resulting "operation canceled" is expected, not a fault.</summary>
    public void Shutdown()
    {
        _stopping = true;
        Stop();
    }

    protected override void OnStarted(EndPoint endPoint) => _started.TrySetResult(endPoint);

    protected override void OnServerFaulted(Exception exception)
    {
        if (_stopping)
        {
            context.Logger.Debug(exception, "Listener closed");
            return;
        }

        context.Logger.Error(exception, "Listener faulted");
        _started.TrySetException(exception);
    }

    protected override void OnClientFaulted(in ClientConnection client, Exception exception) =>
        context.Logger.Debug(exception, "Connection from {Remote} faulted", client.RemoteEndPoint);

    protected override Task OnClientConnectedAsync(in ClientConnection client)
    {
        if (!context.TryAdmitConnection())
        {
            return tls && client.Transport is SocketConnection refused
                ? RejectTlsAsync(refused, client.RemoteEndPoint)
                : RejectAsync(client.Transport, client.RemoteEndPoint);
        }

        try
        {
            if (client.Transport is SocketConnection connection)
            {
                TcpKeepAlive.Apply(connection.Socket, context.Options.TcpKeepAlive);
            }
        }
        catch (Exception e) when (ClientSession.IsDisconnect(e))
        {
            // The peer is already gone; its session ends at its first read.
            context.Logger.Debug(e, "Could not set TCP keepalive for {Remote}", client.RemoteEndPoint);
        }

        if (tls && client.Transport is SocketConnection socket)
        {
            return RunTlsAsync(socket, client.RemoteEndPoint, context);
        }

        return RunAsync(new ClientSession(context, client.Transport, client.RemoteEndPoint), context);

        static async Task RunTlsAsync(SocketConnection socket, EndPoint? remote, ServerContext context)
        {
            try
            {
                var secure = await TlsConnection.AcceptAsync(socket, remote, context).ConfigureAwait(false);
                if (secure is null)
                {
                    return;
                }

                await using (secure.ConfigureAwait(false))
                {
                    using var session = new ClientSession(context, secure, remote);
                    await session.RunAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                context.ConnectionEnded();
            }
        }

        static async Task RunAsync(ClientSession session, ServerContext context)
        {
            try
            {
                using (session)
                {
                    await session.RunAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                context.ConnectionEnded();
            }
        }
    }

    /// <summary>A TLS connection beyond <c>--maxclients</c>: the error is sent inside TLS, where the client can read it.</summary>
    private async Task RejectTlsAsync(SocketConnection socket, EndPoint? remote)
    {
        var secure = await TlsConnection.AcceptAsync(socket, remote, context).ConfigureAwait(false);
        if (secure is not null)
        {
            await using (secure.ConfigureAwait(false))
            {
                await RejectAsync(secure, remote).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A connection beyond <c>--maxclients</c>: the error, then the connection closes (as Redis does).</summary>
    private async Task RejectAsync(IDuplexPipe transport, EndPoint? remote)
    {
        context.Logger.Debug("Refused a connection from {Remote}: max number of clients ({MaxClients}) reached", remote, context.Options.MaxClients);
        context.RejectedConnectionLog.Record((remote as IPEndPoint)?.Address);
        try
        {
            await transport.Output.WriteAsync(MaxClientsError).ConfigureAwait(false);
            await ClientSession.CloseGracefullyAsync(transport, context.Logger, clientId: 0).ConfigureAwait(false);
        }
        catch (Exception e) when (ClientSession.IsDisconnect(e) || e is InvalidOperationException)
        {
            context.Logger.Debug(e, "Refused connection from {Remote} closed without a clean shutdown", remote);
        }
        finally
        {
            await transport.Input.CompleteAsync().ConfigureAwait(false);
            await transport.Output.CompleteAsync().ConfigureAwait(false);
        }
    }
}
