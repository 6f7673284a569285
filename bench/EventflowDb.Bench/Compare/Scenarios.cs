namespace EventflowDb.Bench.Compare;

/// <summary>
/// The scenarios of <c>compare</c>, shared with <c>cold</c>: their names, commands and drivers, each driving either
/// server (EventflowDB or Redis) with the same parameters.
/// </summary>
internal static class Scenarios
{
    public const string Ping = "PING, 50 conns, pipeline 16";
    public const string AddPipeline16 = "ADD 1 event, 50 conns, pipeline 16, fsync always";
    public const string AddPipeline1 = "ADD 1 event, 50 conns, pipeline 1, fsync always";
    public const string AddBatches = "ADD batches of 100 events, 16 conns";
    public const string Get = "GET 100 events of a stream, 50 conns";
    public const string Scan = "Full scan, 1,000-event pages, 1 conn";
    public const string AddPipeline16Relaxed = "ADD 1 event, 50 conns, pipeline 16, relaxed";
    public const string AddPipeline1Relaxed = "ADD 1 event, 50 conns, pipeline 1, relaxed";

    /// <summary>EventflowDB <c>--fsync</c> and Redis <c>appendfsync</c> of the fsync scenarios, and of the relaxed ones.</summary>
    public const string EventflowFsync = "always";
    public const string RedisFsync = "always";
    public const string EventflowRelaxed = "every-ms=1000";
    public const string RedisRelaxed = "everysec";

    /// <summary>The streams of the GET scenario: g-0 to g-999, 100 events each.</summary>
    public const int GetStreams = 1000;

    public static readonly string[] Add = ["ADD", "stream-__rand_int__", "any", "T", "{\"a\":1}"];
    public static readonly string[] Xadd = ["XADD", "stream-__rand_int__", "*", "a", "1"];

    /// <summary>redis-benchmark, 50 connections, <c>-r 100000</c>.</summary>
    public static Task<LoadResult> Bench(ServerProcess server, int pipeline, int requests, params string[] command)
        => RedisBenchmark.RunAsync(server.Name, server.Port, 50, pipeline, requests, 1, command);

    /// <summary>PING, pipeline 16 (redis-benchmark).</summary>
    public static Task<LoadResult> RunPing(ServerProcess server, int requests) => Bench(server, 16, requests, "PING");

    /// <summary>ADD / XADD of one event to stream-N (redis-benchmark), whatever the server's durability.</summary>
    public static Task<LoadResult> RunAdd(ServerProcess server, int pipeline, int requests) => Bench(server, pipeline, requests, server.IsRedis ? Xadd : Add);

    /// <summary>Batches of 100 events, 16 connections (bench loader; MULTI + 100 XADD + EXEC on Redis).</summary>
    public static Task<LoadResult> RunAddBatches(ServerProcess server, TimeSpan duration)
        => Task.Run(() => server.IsRedis ? Workloads.AddBatchRedis(server.Port, 16, duration) : Workloads.AddBatchEventflow(server.Port, 16, duration));

    /// <summary>Writes the streams that <see cref="RunGet"/> reads.</summary>
    public static Task LoadGet(ServerProcess server)
        => Task.Run(() =>
        {
            if (server.IsRedis)
            {
                Workloads.PreloadStreamsRedis(server.Port, GetStreams);
            }
            else
            {
                Workloads.PreloadStreamsEventflow(server.Port, GetStreams);
            }
        });

    /// <summary>GET / XRANGE of 100 events of one of the <see cref="GetStreams"/> streams, 50 connections (bench loader).</summary>
    public static Task<LoadResult> RunGet(ServerProcess server, TimeSpan duration)
        => Task.Run(() => Workloads.Get100(server.Name, server.Port, 50, duration, GetStreams, server.IsRedis));

    /// <summary>Pages through the whole log (EventflowDB, up to <paramref name="maxEvents"/>) or the stream "scan" (Redis), 1 connection.</summary>
    public static Task<LoadResult> RunScan(ServerProcess server, long maxEvents)
        => Task.Run(() => server.IsRedis ? Workloads.ScanRedis(server.Port) : Workloads.ScanEventflow(server.Port, maxEvents));
}
