using EventflowDb.Server.Network;
using EventflowDb.Server.Observability;

namespace EventflowDb.Server.Http;

/// <summary>What the HTTP endpoint serves from: nothing but "loading" until the store is open, then the running server.</summary>
internal sealed class ServerHealth
{
    private volatile ServerContext? _server;
    private volatile ServerMetrics? _metrics;
    private volatile bool _stopping;

    /// <summary>The running server; null while the store opens (and replays its log).</summary>
    public ServerContext? Server => _stopping ? null : _server;

    public ServerMetrics? Metrics => _stopping ? null : _metrics;

    /// <summary>"loading", "serving" or "stopping", as /health reports it.</summary>
    public string Status => _stopping ? "stopping" : _server is null ? "loading" : "serving";

    public void Serving(ServerContext server, ServerMetrics metrics)
    {
        _metrics = metrics;
        _server = server;
    }

    public void Stopping() => _stopping = true;
}
