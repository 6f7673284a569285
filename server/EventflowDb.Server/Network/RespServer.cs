using System.IO.Pipelines;
using System.Net;
using Pipelines.Sockets.Unofficial;

namespace EventflowDb.Server.Network;

/// <summary>Accepts TCP connections and runs one <see cref="ClientSession"/> per connection.</summary>
internal sealed class RespServer(ServerContext context) : SocketServer
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
            return RejectAsync(client.Transport, client.RemoteEndPoint);
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

        return RunAsync(new ClientSession(context, client.Transport, client.RemoteEndPoint), context);

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
