using EventflowDb.Server.Network;
using Prometheus;

namespace EventflowDb.Server.Observability;

/// <summary>
/// The Prometheus metrics of /metrics, all named <c>eventflowdb_*</c> (plus the process_* and dotnet_* series of
/// prometheus-net). Counters the server and the store keep anyway are copied in just before each scrape, so the
/// command path pays nothing for metrics; only the commit-duration histogram is fed as commits happen.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private readonly ServerContext _server;
    private readonly Histogram _commitDuration;
    private readonly HashSet<string> _groupsShown = new(StringComparer.Ordinal);
    private readonly Gauge _groupPending;
    private readonly Gauge _groupParked;
    private readonly Gauge _groupLag;

    public ServerMetrics(ServerContext server)
    {
        _server = server;
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        var statistics = server.Store.Statistics;

        _commitDuration = factory.CreateHistogram(
            "eventflowdb_commit_duration_seconds",
            "Duration of each log commit, from commit request to durable (the fsync an acknowledged ADD waits for).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.000_05, 2, 16) });
        statistics.CommitTimed += RecordCommit;

        var appends = factory.CreateCounter("eventflowdb_appends_total", "ADDs made durable.");
        var events = factory.CreateCounter("eventflowdb_appended_events_total", "Events made durable.");
        var bytes = factory.CreateCounter("eventflowdb_appended_bytes_total", "Log bytes made durable by ADDs (records with their headers).");
        var fsyncs = factory.CreateCounter("eventflowdb_fsyncs_total", "Log commits, each one fsync of the event log (group commit: many ADDs share one).");
        var checkpoints = factory.CreateCounter("eventflowdb_checkpoints_total", "Index checkpoints taken.");
        var checkpointAge = factory.CreateGauge("eventflowdb_checkpoint_age_seconds", "Seconds since the last index checkpoint (since the store opened when none was taken yet): what a restart would replay.");
        var storedEvents = factory.CreateGauge("eventflowdb_events", "Events in the store.");
        var streams = factory.CreateGauge("eventflowdb_streams", "Streams in the store.");
        var logBytes = factory.CreateGauge("eventflowdb_log_bytes", "Bytes of the event log.");
        var diskBytes = factory.CreateGauge("eventflowdb_disk_bytes", "Bytes the data directory's store files take on disk (log, index, checkpoints).");
        var readOnly = factory.CreateGauge("eventflowdb_read_only", "1 when the store went read-only after a failed write (disk full, I/O error), else 0.");
        var connections = factory.CreateGauge("eventflowdb_connections", "Client connections open now.");
        var connectionsTotal = factory.CreateCounter("eventflowdb_connections_received_total", "Client connections accepted.");
        var rejected = factory.CreateCounter("eventflowdb_connections_rejected_total", "Connections refused because maxclients were connected.");
        var commands = factory.CreateCounter("eventflowdb_commands_total", "Commands processed.");
        var subscriptions = factory.CreateGauge("eventflowdb_subscriptions", "Push subscriptions open now (SUBSCRIBE channels, PSUBSCRIBE patterns and FOLLOWs).");
        var slowCommands = factory.CreateGauge("eventflowdb_slowlog_length", "Entries in SLOWLOG.");
        var uptime = factory.CreateGauge("eventflowdb_uptime_seconds", "Seconds since the server started.");
        _groupPending = factory.CreateGauge("eventflowdb_group_pending", "Events a consumer group delivered and that wait for an ACK.", ["group"]);
        _groupParked = factory.CreateGauge("eventflowdb_group_parked", "Events a consumer group parked after too many deliveries.", ["group"]);
        _groupLag = factory.CreateGauge("eventflowdb_group_lag_seconds", "How far a consumer group's position is behind the newest event, by the time in their ids.", ["group"]);

        Registry.AddBeforeCollectCallback(() =>
        {
            var store = server.Store;
            appends.IncTo(statistics.Appends);
            events.IncTo(statistics.Events);
            bytes.IncTo(statistics.Bytes);
            fsyncs.IncTo(statistics.Commits);
            checkpoints.IncTo(statistics.Checkpoints);
            checkpointAge.Set((DateTimeOffset.UtcNow - (statistics.LastCheckpointAt ?? statistics.OpenedAt)).TotalSeconds);
            storedEvents.Set(store.EventCount);
            streams.Set(store.StreamCount);
            logBytes.Set(statistics.LogBytes);
            diskBytes.Set(store.SizeOnDisk);
            readOnly.Set(store.ReadOnlyReason is null ? 0 : 1);
            connections.Set(server.Clients.Count);
            connectionsTotal.IncTo(Interlocked.Read(ref server.TotalConnections));
            rejected.IncTo(Interlocked.Read(ref server.RejectedConnections));
            commands.IncTo(Interlocked.Read(ref server.TotalCommands));
            subscriptions.Set(server.Clients.Values.Sum(client => client.SubscriptionCount));
            slowCommands.Set(server.SlowLog.Count);
            uptime.Set(server.Uptime.Elapsed.TotalSeconds);
        });
        Registry.AddBeforeCollectCallback(CollectGroupsAsync);
    }

    /// <summary>The registry /metrics exports.</summary>
    public CollectorRegistry Registry { get; }

    public void Dispose() => _server.Store.Statistics.CommitTimed -= RecordCommit;

    private void RecordCommit(TimeSpan duration) => _commitDuration.Observe(duration.TotalSeconds);

    /// <summary>Group gauges, one series per group; series of deleted groups are removed.</summary>
    private async Task CollectGroupsAsync(CancellationToken cancellationToken)
    {
        var groups = await _server.Groups.InfoAsync(null).ConfigureAwait(false);
        var head = _server.Store.Checksum.LastId;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            seen.Add(group.Name);
            _groupPending.WithLabels(group.Name).Set(group.Pending);
            _groupParked.WithLabels(group.Name).Set(group.Parked);
            double lag = group.Position < head ? (head.Time - group.Position.Time).TotalSeconds : 0;
            _groupLag.WithLabels(group.Name).Set(Math.Max(0, lag));
        }

        foreach (string gone in _groupsShown.Except(seen).ToList())
        {
            _groupPending.RemoveLabelled(gone);
            _groupParked.RemoveLabelled(gone);
            _groupLag.RemoveLabelled(gone);
            _groupsShown.Remove(gone);
        }

        _groupsShown.UnionWith(seen);
    }
}
