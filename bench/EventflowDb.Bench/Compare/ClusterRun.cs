using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>cluster</c>: a 3-member cluster on this machine (issue 16), every member on its own data directory, fsync always,
/// <c>--replication sync</c> (or as <c>--replication</c> says). Measures ADD (pipeline 16 and 1, redis-benchmark, 50 connections) and batches of 100 events
/// against the leader, then the failover time: kill -9 of the leader until another member answers an ADD (several
/// kills, the killed member restarted in between). Prints a Markdown table for docs/benchmarks.md.
/// </summary>
internal static class ClusterRun
{
    private const int BasePort = 16600;
    private const int BasePeerPort = 17600;

    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        int kills = Option("--kills") is { } k ? int.Parse(k, CultureInfo.InvariantCulture) : 3;
        string replication = Option("--replication") ?? "sync";
        string root = Repo.Root();
        string dll = Option("--dll") ?? Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        string directory = Path.Combine(Path.GetTempPath(), "efdb-bench-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        string members = string.Join(",", Enumerable.Range(0, 3).Select(i => $"127.0.0.1:{BasePeerPort + i}"));
        var nodes = Enumerable.Range(0, 3)
            .Select(i => ServerProcess.EventflowMember(dll, Path.Combine(directory, $"n{i}"), BasePort + i, BasePeerPort + i, members, replication))
            .ToArray();
        var rows = new List<string>();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync())).ConfigureAwait(false);
            int leader = await LeaderAsync(nodes, -1, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var leaderNode = nodes[leader];

            foreach (var (clients, pipeline, requests) in new[] { (1, 1, 3_000), (16, 1, 20_000), (50, 1, 30_000), (16, 16, 100_000), (50, 16, 150_000) })
            {
                var (result, retries) = await OnLeaderAsync(nodes, clients, pipeline, requests).ConfigureAwait(false);
                rows.Add(Row($"ADD 1 event, {clients} conns, pipeline {pipeline} ({replication}, 3 members){(retries > 0 ? $", {retries} run(s) cut by an election and repeated" : "")}", result));
            }

            leaderNode = nodes[await LeaderAsync(nodes, -1, TimeSpan.FromSeconds(30)).ConfigureAwait(false)];
            var batches = await Task.Run(() => Workloads.AddBatchEventflow(leaderNode.Port, 16, TimeSpan.FromSeconds(10))).ConfigureAwait(false);
            rows.Add(Row($"ADD batches of 100 events, 16 conns ({replication}, 3 members)", batches));
            string proposals = ProposalsOf(leaderNode.Port);

            var failovers = new List<double>();
            for (int i = 0; i < kills; i++)
            {
                leader = await LeaderAsync(nodes, -1, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                var clock = Stopwatch.StartNew();
                nodes[leader].Kill();
                await LeaderAsync(nodes, leader, TimeSpan.FromSeconds(30), requireWrite: true).ConfigureAwait(false);
                failovers.Add(clock.Elapsed.TotalMilliseconds);
                await nodes[leader].StartAsync().ConfigureAwait(false);
                await Task.Delay(2000).ConfigureAwait(false);
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"Cluster run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average at start {load}, 3 members on one 2-core machine, fsync always, --replication {replication}");
            text.AppendLine();
            text.AppendLine("| scenario | ops/s | events/s | p50 ms | p99 ms | max ms |");
            text.AppendLine("|---|---|---|---|---|---|");
            foreach (var row in rows)
            {
                text.AppendLine(row);
            }

            text.AppendLine();
            text.AppendLine(proposals);
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Failover (kill -9 of the leader until another member stores an ADD), {failovers.Count} kills: {string.Join(", ", failovers.Select(f => f.ToString("N0", CultureInfo.InvariantCulture) + " ms"))}");
            Console.WriteLine(text.ToString());
            return 0;
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.StopAsync().ConfigureAwait(false);
                node.Dispose();
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// One redis-benchmark run against the leader. redis-benchmark stops at the first error reply, and an election on a
    /// loaded 2-core machine answers TRYAGAIN or READONLY: the run is repeated against the leader found again (up to 3
    /// times), and the row says so.
    /// </summary>
    private static async Task<(LoadResult Result, int Retries)> OnLeaderAsync(ServerProcess[] nodes, int clients, int pipeline, int requests)
    {
        for (int retries = 0; ; retries++)
        {
            int leader = await LeaderAsync(nodes, -1, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            try
            {
                return (await RedisBenchmark.RunAsync("EventflowDB cluster", nodes[leader].Port, clients, pipeline, requests, 1, Scenarios.Add).ConfigureAwait(false), retries);
            }
            catch (InvalidOperationException e) when (retries < 3 && (e.Message.Contains("TRYAGAIN", StringComparison.Ordinal) || e.Message.Contains("READONLY", StringComparison.Ordinal)))
            {
                Console.Error.WriteLine($"redis-benchmark met an election ({clients} conns, pipeline {pipeline}); repeating");
                await Task.Delay(1000).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How many writes the leader proposed in how many Raft entries (its INFO cluster counters).</summary>
    private static string ProposalsOf(int port)
    {
        string info = Ask(port, "*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n") ?? "";
        string Value(string key) => info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal))?[(key.Length + 1)..] ?? "?";
        return $"Leader at the end: {Value("cluster_writes_proposed")} writes proposed in {Value("cluster_entries_proposed")} Raft entries (its counters since it started)";
    }

    private static string Row(string name, LoadResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"| {name} | {r.OpsPerSecond:N0} | {r.EventsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.MaxMs:0.00} |");

    /// <summary>The member whose ROLE is master (and, with <paramref name="requireWrite"/>, that stores an ADD).</summary>
    private static async Task<int> LeaderAsync(ServerProcess[] nodes, int except, TimeSpan timeout, bool requireWrite = false)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            for (int i = 0; i < nodes.Length; i++)
            {
                if (i == except)
                {
                    continue;
                }

                string? reply = Ask(nodes[i].Port, requireWrite ? "*5\r\n$3\r\nADD\r\n$8\r\nfailover\r\n$3\r\nany\r\n$1\r\nT\r\n$2\r\n{}\r\n" : "*1\r\n$4\r\nROLE\r\n");
                if (reply is not null && (requireWrite ? reply.StartsWith('*') : reply.Contains("master", StringComparison.Ordinal)))
                {
                    return i;
                }
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        throw new TimeoutException("no leader");
    }

    private static string? Ask(int port, string request)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect("127.0.0.1", port);
            socket.ReceiveTimeout = 2000;
            socket.Send(Encoding.ASCII.GetBytes(request));
            var buffer = new byte[4096];
            int n = socket.Receive(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
