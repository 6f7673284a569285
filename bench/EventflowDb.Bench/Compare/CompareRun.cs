using System.Diagnostics;
using System.Globalization;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>compare</c>: builds and starts EventflowDB and redis-server (AOF on) on temporary directories and
/// runs every scenario against both, alternating which goes first, then writes docs/benchmarks.md.
/// </summary>
internal static class CompareRun
{
    private const int EventflowPort = 16543;
    private const int RelaxedPort = 16544;
    private const int RedisPort = 16379;
    private const int Rounds = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        double scale = args.Length >= 2 && args[0] == "--scale" ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0;
        int N(int n) => Math.Max(1000, (int)(n * scale));
        var seconds = TimeSpan.FromSeconds(Math.Max(2, 4 * scale));
        var total = Stopwatch.StartNew();
        string root = Repo.Root();
        await Shell.EnsureRedisAsync().ConfigureAwait(false);
        Console.WriteLine("Building the server (Release)...");
        var build = await Shell.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(root, "server/EventflowDb.Server/EventflowDb.Server.csproj")]).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            Console.Error.WriteLine(build.Output);
            return 1;
        }

        string dll = Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        var temp = Directory.CreateTempSubdirectory("efdb-bench-");
        string efDir = Path.Combine(temp.FullName, "eventflow");
        string relaxedDir = Path.Combine(temp.FullName, "eventflow-relaxed");
        string redisDir = Path.Combine(temp.FullName, "redis");
        Directory.CreateDirectory(redisDir);
        var results = new List<ScenarioResult>();
        var facts = new List<(string, string)>();
        BigResult? big = null;
        try
        {
            using var ef = ServerProcess.Eventflow(dll, efDir, EventflowPort, Scenarios.EventflowFsync);
            using var redis = ServerProcess.Redis(redisDir, RedisPort, Scenarios.RedisFsync);
            await ef.StartAsync().ConfigureAwait(false);
            await redis.StartAsync().ConfigureAwait(false);
            var version = await Shell.RunAsync("redis-server", ["--version"]).ConfigureAwait(false);
            facts.Add(("Redis", version.Output.Trim()));

            int order = 0;
            // Each scenario runs Rounds times on both servers, alternating which goes first; the median run of each
            // side is reported (single runs of a few seconds on 2 shared cores varied by tens of percent).
            async Task<ScenarioResult> Both(string name, string efCommand, string redisCommand, Func<Task<LoadResult>> runEf, Func<Task<LoadResult>> runRedis, string target, double ratio, double? events = null, int rounds = Rounds)
            {
                Console.WriteLine($"== {name}");
                var efRuns = new List<LoadResult>();
                var redisRuns = new List<LoadResult>();
                for (int round = 0; round < rounds; round++)
                {
                    if (order++ % 2 == 0)
                    {
                        efRuns.Add(await runEf().ConfigureAwait(false));
                        redisRuns.Add(await runRedis().ConfigureAwait(false));
                    }
                    else
                    {
                        redisRuns.Add(await runRedis().ConfigureAwait(false));
                        efRuns.Add(await runEf().ConfigureAwait(false));
                    }
                }

                var a = Median(efRuns);
                var b = Median(redisRuns);
                var result = new ScenarioResult(name, efCommand, redisCommand, a, b, target, ratio, events, efRuns, redisRuns);
                Console.WriteLine($"   EventflowDB {a.EventsPerSecond,12:N0}/s p50 {a.P50Ms:0.###} ms p99 {a.P99Ms:0.###} ms | Redis {b.EventsPerSecond,12:N0}/s p50 {b.P50Ms:0.###} ms p99 {b.P99Ms:0.###} ms | ratio {result.Ratio:0.00}");
                results.Add(result);
                return result;
            }

            // Warm-up, not recorded: JIT tiering on EventflowDB's side, and past the first log segment (the only one
            // not zero-filled ahead; appends sync about twice as fast into prefilled segments).
            Console.WriteLine("Warm-up: PING and ADD / XADD, pipeline 16, not recorded");
            await Scenarios.RunPing(ef, N(500_000)).ConfigureAwait(false);
            await Scenarios.RunPing(redis, N(500_000)).ConfigureAwait(false);
            await Scenarios.RunAdd(ef, 16, N(300_000)).ConfigureAwait(false);
            await Scenarios.RunAdd(redis, 16, N(300_000)).ConfigureAwait(false);
            await Both(Scenarios.Ping, "PING", "PING", () => Scenarios.RunPing(ef, N(1_000_000)), () => Scenarios.RunPing(redis, N(1_000_000)), "≥ 0.8× Redis", 0.8).ConfigureAwait(false);
            await Both(Scenarios.AddPipeline16, "ADD stream-N any T {\"a\":1}", "XADD stream-N * a 1 (appendfsync always)", () => Scenarios.RunAdd(ef, 16, N(500_000)), () => Scenarios.RunAdd(redis, 16, N(500_000)), "≥ 1.0× Redis", 1.0).ConfigureAwait(false);
            await Both(Scenarios.AddPipeline1, "ADD stream-N any T {\"a\":1}", "XADD stream-N * a 1 (appendfsync always)", () => Scenarios.RunAdd(ef, 1, N(50_000)), () => Scenarios.RunAdd(redis, 1, N(50_000)), "≥ 1.0× Redis", 1.0).ConfigureAwait(false);
            await Both(Scenarios.AddBatches, "ADD batch-C any T {..} ×100", "MULTI + 100 XADD + EXEC", () => Scenarios.RunAddBatches(ef, seconds), () => Scenarios.RunAddBatches(redis, seconds), "≥ 1,000,000 events/s", 0, 1_000_000).ConfigureAwait(false);

            Console.WriteLine("Preloading 1,000 streams of 100 events on both...");
            await Scenarios.LoadGet(ef).ConfigureAwait(false);
            await Scenarios.LoadGet(redis).ConfigureAwait(false);
            await Both(Scenarios.Get, "GET g-K 0 100", "XRANGE g-K - + COUNT 100", () => Scenarios.RunGet(ef, seconds), () => Scenarios.RunGet(redis, seconds), "≥ 1.0× Redis", 1.0).ConfigureAwait(false);

            long efEvents;
            using (var c = new RespConnection(ef.Port))
            {
                efEvents = c.CallInteger(RespCommand.Encode("EVENTCOUNT"));
            }

            long scanEvents = Math.Min(efEvents, 2_000_000);
            Console.WriteLine($"Preloading Redis stream 'scan' with {scanEvents:N0} events (EventflowDB holds {efEvents:N0})...");
            Workloads.PreloadScanRedis(redis.Port, scanEvents);
            await Both(Scenarios.Scan, "GETALL <last id> 1000", "XREAD COUNT 1000 STREAMS scan <last id>", () => Scenarios.RunScan(ef, scanEvents), () => Scenarios.RunScan(redis, scanEvents), "≥ 1,000,000 events/s", 0, 1_000_000).ConfigureAwait(false);

            long efRss = ef.ResidentBytes;
            long redisRss = redis.ResidentBytes;
            facts.Add(("RSS after the scenarios", $"EventflowDB {Mib(efRss)} with {efEvents:N0} events; Redis {Mib(redisRss)}"));

            Console.WriteLine("== Restart");
            await ef.StopAsync().ConfigureAwait(false);
            await redis.StopAsync().ConfigureAwait(false);
            var efRestart = await ef.StartAsync().ConfigureAwait(false);
            var redisRestart = await redis.StartAsync().ConfigureAwait(false);
            long aof = Directory.EnumerateFiles(redisDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            facts.Add(("Restart (graceful stop, start until PING answers)", $"EventflowDB {efRestart.TotalSeconds:0.00} s holding {efEvents:N0} events; Redis {redisRestart.TotalSeconds:0.00} s loading a {Mib(aof)} AOF"));
            facts.Add(("RSS after restart", $"EventflowDB {Mib(ef.ResidentBytes)}; Redis {Mib(redis.ResidentBytes)}"));
            Console.WriteLine($"   restart EventflowDB {efRestart.TotalSeconds:0.00} s, Redis {redisRestart.TotalSeconds:0.00} s");

            Console.WriteLine("Switching to relaxed durability: EventflowDB --fsync every-ms=1000, Redis appendfsync everysec");
            await ef.StopAsync().ConfigureAwait(false);
            using var relaxed = ServerProcess.Eventflow(dll, relaxedDir, RelaxedPort, Scenarios.EventflowRelaxed);
            await relaxed.StartAsync().ConfigureAwait(false);
            using (var c = new RespConnection(redis.Port))
            {
                c.Call(RespCommand.Encode("CONFIG", "SET", "appendfsync", Scenarios.RedisRelaxed));
            }

            Console.WriteLine("Warm-up: ADD / XADD, pipeline 16, relaxed, not recorded");
            await Scenarios.RunAdd(relaxed, 16, N(300_000)).ConfigureAwait(false);
            await Scenarios.RunAdd(redis, 16, N(300_000)).ConfigureAwait(false);
            await Both(Scenarios.AddPipeline16Relaxed, "ADD ... (--fsync every-ms=1000)", "XADD ... (appendfsync everysec)", () => Scenarios.RunAdd(relaxed, 16, N(500_000)), () => Scenarios.RunAdd(redis, 16, N(500_000)), "≥ 1.0× Redis", 1.0).ConfigureAwait(false);
            await Both(Scenarios.AddPipeline1Relaxed, "ADD ... (--fsync every-ms=1000)", "XADD ... (appendfsync everysec)", () => Scenarios.RunAdd(relaxed, 1, N(200_000)), () => Scenarios.RunAdd(redis, 1, N(200_000)), "≥ 1.0× Redis", 1.0).ConfigureAwait(false);
            await relaxed.StopAsync().ConfigureAwait(false);
            await redis.StopAsync().ConfigureAwait(false);

            int bigStreams = Math.Max(1000, (int)(1_000_000 * scale));
            Console.WriteLine($"== Big store: {bigStreams:N0} streams x 10 events, RSS and restart");
            big = await BigRun.MeasureAsync(dll, Path.Combine(temp.FullName, "big"), bigStreams, 10).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }

        facts.Add(("Whole run", $"{total.Elapsed.TotalMinutes:0.0} min, scale {scale.ToString(CultureInfo.InvariantCulture)}"));
        string docs = Path.Combine(root, "docs");
        Directory.CreateDirectory(docs);
        string chart = Path.Combine(docs, "benchmarks.png");
        bool charted = ChartWriter.TryWrite(results, chart);
        string reportPath = Path.Combine(docs, "benchmarks.md");
        string report = ReportWriter.Write(results, facts, big, charted ? "benchmarks.png" : null);
        string previous = File.Exists(reportPath) ? await File.ReadAllTextAsync(reportPath).ConfigureAwait(false) : "";
        string subscriptions = SubscribeRun.ExistingSection(previous);
        if (subscriptions.Length > 0)
        {
            report = SubscribeRun.MergeSection(report, subscriptions); // keep the numbers of the last `subscribe` run
        }

        // And every other section this mode does not write (ops, TLS, HTTP, ...), in their earlier order, at the end.
        report = ReportSections.CarryOver(previous, report);
        await File.WriteAllTextAsync(reportPath, report).ConfigureAwait(false);
        Console.WriteLine($"Wrote docs/benchmarks.md in {total.Elapsed.TotalMinutes:0.0} min");
        return 0;
    }

    /// <summary>The run with the median throughput (the upper middle one for an even count).</summary>
    private static LoadResult Median(List<LoadResult> runs) => runs.OrderBy(r => r.EventsPerSecond).ElementAt(runs.Count / 2);

    public static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:N0} MiB";
}
