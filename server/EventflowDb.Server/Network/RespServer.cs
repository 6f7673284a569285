using System.Net;
using Pipelines.Sockets.Unofficial;

namespace EventflowDb.Server.Network;

/// <summary>Accepts TCP connections and runs one <see cref="ClientSession"/> per connection.</summary>
internal sealed class RespServer(ServerContext context) : SocketServer
{
    private readonly TaskCompletionSource<EndPoint> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
        return RunAsync(new ClientSession(context, client.Transport, client.RemoteEndPoint));

        static async Task RunAsync(ClientSession session)
        {
            using (session)
            {
                await session.RunAsync().ConfigureAwait(false);
            }
        }
    }
}
