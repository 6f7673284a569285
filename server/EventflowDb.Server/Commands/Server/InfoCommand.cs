using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Server;

/// <summary>INFO [section ...]: Redis-style "key:value" lines; clients read redis_version and loading from it.</summary>
internal sealed class InfoCommand() : SyncCommand("INFO", -1)
{
    private static readonly string[] AllSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cluster", "cpu", "keyspace", "eventflowdb", "limits"];

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < request.Count; i++)
        {
            string name = request.GetString(i);
            if (name.Equals("all", StringComparison.OrdinalIgnoreCase) || name.Equals("everything", StringComparison.OrdinalIgnoreCase) || name.Equals("default", StringComparison.OrdinalIgnoreCase))
            {
                wanted.UnionWith(AllSections);
            }
            else
            {
                wanted.Add(name);
            }
        }

        if (wanted.Count == 0)
        {
            wanted.UnionWith(AllSections);
        }

        var text = new StringBuilder();
        foreach (string section in AllSections)
        {
            if (wanted.Contains(section))
            {
                if (text.Length > 0)
                {
                    text.Append("\r\n");
                }

                WriteSection(text, section, session.Server);
            }
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (session.Writer.Resp3)
        {
            session.Writer.WriteVerbatimString("txt", bytes);
        }
        else
        {
            session.Writer.WriteBulkString(bytes);
        }
    }

    /// <summary>What the store did since it opened: appends, commits (fsyncs), checkpoints, the log's size, commit durations.</summary>
    private static void WriteStoreWork(Action<string, object> line, Storage.StoreStatistics statistics, Observability.CommitLatency latency)
    {
        line("log_bytes", statistics.LogBytes);
        line("appends", statistics.Appends);
        line("appended_events", statistics.Events);
        line("appended_bytes", statistics.Bytes);
        line("commits", statistics.Commits);
        line("checkpoints", statistics.Checkpoints);
        var last = statistics.LastCheckpointAt;
        line("last_checkpoint_time", last?.ToUnixTimeSeconds() ?? -1);
        line("last_checkpoint_age_seconds", last is { } at ? (long)(DateTimeOffset.UtcNow - at).TotalSeconds : -1);
        line("commit_latency_p50_us", latency.Percentile(50));
        line("commit_latency_p99_us", latency.Percentile(99));
        line("commit_latency_p999_us", latency.Percentile(99.9));
        line("commit_latency_max_us", latency.MaxMicroseconds);
    }

    /// <summary>Redis's replication fields as clients read them: the leader is the master, followers are its slaves.</summary>
    private static void WriteReplication(Action<string, object> line, Cluster.ClusterNode node)
    {
        var members = node.Members();
        if (node.IsLeader)
        {
            line("role", "master");
            var replicas = members.Where(m => !m.IsSelf && m.Status == "available" && m.ClientAddress is not null).ToList();
            line("connected_slaves", replicas.Count);
            for (int i = 0; i < replicas.Count; i++)
            {
                var (host, port) = Configuration.OptionsParser.ParseHostPort(replicas[i].ClientAddress!, "announce");
                // offset: the Raft index the replica's log matches (comparable with master_repl_offset); lag: seconds
                // since it was last seen in sync. A replica that has not answered in this leadership shows offset 0, as
                // Redis does before the first acknowledgement.
                var progress = replicas[i].Progress;
                line($"slave{i}", $"ip={host},port={port},state=online,offset={progress?.MatchIndex ?? 0},lag={progress?.LagSeconds ?? 0}");
            }
        }
        else
        {
            line("role", "slave");
            string? leader = node.LeaderAnnounce;
            var (host, port) = leader is null ? ("", 0) : Configuration.OptionsParser.ParseHostPort(leader, "announce");
            line("master_host", host);
            line("master_port", port);
            line("master_link_status", leader is null ? "down" : "up");
            line("slave_read_only", 1);
            line("connected_slaves", 0);
        }

        // The leader's offset is its log's last index, the one its replicas' offsets count towards; a follower's is
        // the index its own store holds durably.
        line("master_repl_offset", node.IsLeader ? node.LastIndex : node.DurableIndex);
    }

    /// <summary>The Raft view of this member: members, leader, term, and how far this member's store is.</summary>
    private static void WriteCluster(Action<string, object> line, Cluster.ClusterNode node, Storage.IEventStore store)
    {
        var members = node.Members();
        line("cluster_mode", "raft");
        line("cluster_replication", node.AsyncReplication ? "async" : "sync");
        line("cluster_members", members.Count);
        line("cluster_leader", node.LeaderAnnounce ?? "");
        line("cluster_role", node.IsLeader ? "leader" : "follower");
        line("cluster_term", node.Term);
        line("cluster_last_index", node.LastIndex);
        line("cluster_commit_index", node.CommitIndex);
        line("cluster_applied_index", node.AppliedIndex);
        line("cluster_durable_index", node.DurableIndex);
        line("cluster_snapshot_index", node.SnapshotIndex);
        line("cluster_ahead_entries", node.AheadEntries);
        line("cluster_lag_entries", Math.Max(0, node.CommitIndex - node.DurableIndex));
        line("cluster_entries_proposed", node.EntriesProposed);
        line("cluster_writes_proposed", node.WritesProposed);
        line("cluster_events", store.EventCount);
        line("cluster_last_position", store.EventCount - 1);
        line("cluster_last_id", store.Checksum.LastId == NUlid.Ulid.Empty ? "" : store.Checksum.LastId.ToString());
        for (int i = 0; i < members.Count; i++)
        {
            var m = members[i];
            string durable = m.DurableIndex is { } index ? index.ToString(CultureInfo.InvariantCulture) : "";
            string progress = m.Progress is { } p
                ? string.Create(CultureInfo.InvariantCulture, $",match_index={p.MatchIndex?.ToString(CultureInfo.InvariantCulture) ?? ""},lag_entries={p.LagEntries?.ToString(CultureInfo.InvariantCulture) ?? ""},lag_seconds={p.LagSeconds}")
                : "";
            line($"member{i}", $"peer={m.PeerAddress},client={m.ClientAddress ?? ""},role={(m.IsLeader ? "leader" : "follower")},status={m.Status},self={(m.IsSelf ? 1 : 0)},durable_index={durable}{progress}");
        }
    }

    private static void WriteSection(StringBuilder text, string section, ServerContext server)
    {
        var store = server.Store;
        var options = server.Options;
        void Line(string key, object value) => text.Append(CultureInfo.InvariantCulture, $"{key}:{value}\r\n");

        text.Append("# ").Append(char.ToUpperInvariant(section[0])).Append(section.AsSpan(1)).Append("\r\n");
        switch (section)
        {
            case "server":
                Line("redis_version", ServerContext.RedisCompatibleVersion);
                Line("eventflowdb_version", ServerContext.Version);
                Line("redis_mode", "standalone");
                Line("os", Environment.OSVersion.ToString());
                Line("arch_bits", Environment.Is64BitProcess ? 64 : 32);
                Line("process_id", Environment.ProcessId);
                Line("tcp_port", options.Port);
                Line("tls_port", options.Tls.Port);
                Line("uptime_in_seconds", (long)server.Uptime.Elapsed.TotalSeconds);
                Line("uptime_in_days", (long)server.Uptime.Elapsed.TotalDays);
                Line("executable", Environment.ProcessPath ?? "");
                break;
            case "clients":
                Line("connected_clients", server.Clients.Count);
                Line("maxclients", options.MaxClients);
                break;
            case "memory":
                long rss = Process.GetCurrentProcess().WorkingSet64;
                Line("used_memory", GC.GetTotalMemory(false));
                Line("used_memory_rss", rss);
                Line("used_memory_rss_human", Events.HumanFormat.Bytes(rss));
                Line("maxmemory", 0);
                break;
            case "persistence":
                Line("loading", 0);
                Line("aof_enabled", 1);
                Line("data_directory", Path.GetFullPath(options.DataDirectory));
                Line("size_on_disk", store.SizeOnDisk);
                Line("read_only", store.ReadOnlyReason is null ? 0 : 1);
                Line("read_only_reason", store.ReadOnlyReason?.ReplaceLineEndings(" ") ?? "");
                break;
            case "stats":
                Line("total_connections_received", Interlocked.Read(ref server.TotalConnections));
                Line("total_commands_processed", Interlocked.Read(ref server.TotalCommands));
                Line("rejected_connections", Interlocked.Read(ref server.RejectedConnections));
                Line("client_output_buffer_limit_disconnections", Interlocked.Read(ref server.OutputBufferLimitDisconnections));
                Line("tls_handshake_failures", Interlocked.Read(ref server.TlsHandshakeFailures));
                Line("tls_certificate_loads", server.Tls.Loads);
                Line("tls_certificate_not_after", server.Tls.Certificate is { } certificate ? certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "");
                break;
            case "replication" when store is Cluster.ReplicatedEventStore { Node: var node }:
                WriteReplication(Line, node);
                break;
            case "replication":
                Line("role", "master");
                Line("connected_slaves", 0);
                break;
            case "cluster" when store is Cluster.ReplicatedEventStore { Node: var node }:
                // Not a Redis Cluster (clients would ask CLUSTER SLOTS): cluster_enabled stays 0, the Raft state follows.
                Line("cluster_enabled", 0);
                WriteCluster(Line, node, store);
                break;
            case "cluster":
                Line("cluster_enabled", 0);
                break;
            case "cpu":
                var cpu = Process.GetCurrentProcess();
                Line("used_cpu_sys", cpu.PrivilegedProcessorTime.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture));
                Line("used_cpu_user", cpu.UserProcessorTime.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture));
                break;
            case "keyspace":
                if (store.StreamCount > 0)
                {
                    Line("db0", $"keys={store.StreamCount},expires=0,avg_ttl=0");
                }

                break;
            case "eventflowdb":
                Line("events", store.EventCount);
                Line("streams", store.StreamCount);
                Line("events_at_checkpoint", store.EventCountEstimate);
                Line("streams_at_checkpoint", store.StreamCountEstimate);
                WriteStoreWork(Line, store.Statistics, server.CommitLatency);
                break;
            case "limits":
                foreach (var (name, value) in Configuration.ConfigValues.Limits(options))
                {
                    Line(name.Replace('-', '_'), value);
                }

                break;
            default:
                break;
        }
    }
}
