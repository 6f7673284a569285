using System.Globalization;
using System.Text;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>cold</c>: what a user who benchmarks a fresh server sees, for every scenario of <c>compare</c>. In each round, for
/// each scenario, EventflowDB and redis-server are started on new data directories (alternating which goes first), the
/// first requests they serve are measured (cold), then, after an unrecorded warm-up of the same load, the same
/// measurement again (steady), with <c>compare</c>'s drivers and parameters (<see cref="Scenarios"/>). The read
/// scenarios (GET, full scan) load their data, stop the server gracefully and start it again first: cold is the first
/// reads of a fresh process on data written by an earlier one. Writes the "Cold start" section of docs/benchmarks.md
/// (kept by <c>compare</c>).
/// </summary>
internal static class ColdRun
{
    public const string SectionTitle = "## Cold start: the first requests of a fresh store (issue 20)";
    private const int EventflowPort = 16553;
    private const int RedisPort = 16389;
    private const long ScanEvents = 1_000_000;

    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        int rounds = Option("--rounds") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 3;
        string? dll = Option("--dll");
        string? only = Option("--only");
        var total = System.Diagnostics.Stopwatch.StartNew();
        string root = Repo.Root();
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        await Shell.EnsureRedisAsync().ConfigureAwait(false);
        if (dll is null)
        {
            var build = await Shell.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(root, "server/EventflowDb.Server/EventflowDb.Server.csproj")]).ConfigureAwait(false);
            if (build.ExitCode != 0)
            {
                Console.Error.WriteLine(build.Output);
                return 1;
            }

            dll = Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        }

        var batchTime = TimeSpan.FromSeconds(2);
        var getTime = TimeSpan.FromSeconds(2);
        var all = new Scenario[]
        {
            Writes(Scenarios.Ping, false, false, 300_000, 600_000, (s, n) => Scenarios.RunPing(s, n)),
            Writes(Scenarios.AddPipeline16, false, false, 200_000, 300_000, (s, n) => Scenarios.RunAdd(s, 16, n)),
            Writes(Scenarios.AddPipeline1, false, false, 30_000, 60_000, (s, n) => Scenarios.RunAdd(s, 1, n)),
            new(Scenarios.AddBatches, true, false, "first 2 s; warm-up 3 s", null, s => Scenarios.RunAddBatches(s, batchTime), s => Scenarios.RunAddBatches(s, TimeSpan.FromSeconds(3))),
            new(Scenarios.Get, false, false, $"{Scenarios.GetStreams:N0} streams × 100 events, restart; first 2 s; warm-up 3 s", Scenarios.LoadGet, s => Scenarios.RunGet(s, getTime), s => Scenarios.RunGet(s, TimeSpan.FromSeconds(3))),
            new(Scenarios.Scan, true, false, $"{ScanEvents:N0} events, restart; first scan; warm-up 2 scans", LoadScan, s => Scenarios.RunScan(s, ScanEvents), WarmScan),
            Writes(Scenarios.AddPipeline16Relaxed, false, true, 200_000, 300_000, (s, n) => Scenarios.RunAdd(s, 16, n)),
            Writes(Scenarios.AddPipeline1Relaxed, false, true, 50_000, 100_000, (s, n) => Scenarios.RunAdd(s, 1, n)),
        };
        var scenarios = all.Where(s => only is null || s.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToArray();

        // [scenario][side: 0 EventflowDB, 1 Redis] → (cold runs, steady runs)
        var runs = scenarios.Select(_ => new[] { (Cold: new List<double>(), Steady: new List<double>()), (Cold: new List<double>(), Steady: new List<double>()) }).ToArray();
        var temp = Directory.CreateTempSubdirectory("efdb-cold-");
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                for (int s = 0; s < scenarios.Length; s++)
                {
                    var scenario = scenarios[s];
                    for (int turn = 0; turn < 2; turn++)
                    {
                        // Alternate which server goes first.
                        int side = (turn + round + s) % 2;
                        string directory = Path.Combine(temp.FullName, $"r{round}-s{s}-{side}");
                        Directory.CreateDirectory(directory);
                        using var server = side == 0
                            ? ServerProcess.Eventflow(dll, directory, EventflowPort, scenario.Relaxed ? Scenarios.EventflowRelaxed : Scenarios.EventflowFsync)
                            : ServerProcess.Redis(directory, RedisPort, scenario.Relaxed ? Scenarios.RedisRelaxed : Scenarios.RedisFsync);
                        var watch = System.Diagnostics.Stopwatch.StartNew();
                        await server.StartAsync().ConfigureAwait(false);
                        string restart = "";
                        if (scenario.Load is { } loadData)
                        {
                            // Reads: the data is written by an earlier process of the same server.
                            await loadData(server).ConfigureAwait(false);
                            await server.StopAsync().ConfigureAwait(false);
                            var started = await server.StartAsync().ConfigureAwait(false);
                            restart = $", restarted in {started.TotalSeconds:0.00} s";
                        }

                        var cold = await scenario.Measure(server).ConfigureAwait(false);
                        await scenario.WarmUp(server).ConfigureAwait(false);
                        var steady = await scenario.Measure(server).ConfigureAwait(false);
                        await server.StopAsync().ConfigureAwait(false);
                        runs[s][side].Cold.Add(scenario.Value(cold));
                        runs[s][side].Steady.Add(scenario.Value(steady));
                        Console.WriteLine($"{scenario.Name} round {round + 1} {server.Name}{restart}: cold {scenario.Value(cold):N0} {scenario.Unit}, steady {scenario.Value(steady):N0} {scenario.Unit} ({watch.Elapsed.TotalSeconds:0.0} s)");
                        Directory.Delete(directory, recursive: true);
                    }
                }
            }
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

        string commandLine = $"cold --rounds {rounds.ToString(CultureInfo.InvariantCulture)}{(Option("--dll") is null ? "" : " --dll <server dll>")}{(only is null ? "" : $" --only \"{only}\"")}";
        var md = new StringBuilder();
        md.AppendLine(SectionTitle);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated by `dotnet run -c Release --project bench/EventflowDb.Bench -- {commandLine}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores (load average {load} at the start), in {total.Elapsed.TotalMinutes:0.0} min.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Each of {rounds} rounds, for each scenario, starts each server (alternating which goes first) on a new data directory: EventflowDB `--fsync {Scenarios.EventflowFsync}` and Redis AOF");
        md.AppendLine(CultureInfo.InvariantCulture, $"`appendfsync {Scenarios.RedisFsync}`, or `--fsync {Scenarios.EventflowRelaxed}` and `appendfsync {Scenarios.RedisRelaxed}` for the relaxed scenarios. It measures the first requests the");
        md.AppendLine("fresh server serves (**cold**), runs an unrecorded warm-up of the same load, then the same measurement again (**steady**), with the drivers and");
        md.AppendLine("parameters of `compare` (redis-benchmark with 50 connections and `-r 100000`, or the bench loader); the ADD scenarios' cold requests also create");
        md.AppendLine("most of the 100,000 streams. For GET and the full scan, cold is the first reads of a fresh server process on data written by an earlier");
        md.AppendLine("process of the same server: the data is loaded, the server stopped gracefully (SIGTERM; nothing else dropped, the OS page cache stays warm)");
        md.AppendLine("and started again, then the first reads are measured; steady is the same reads after a warm-up of reads. Events/s for batches and scans,");
        md.AppendLine("requests/s otherwise; ratios to Redis are those of the same run. Medians of the rounds, every run listed. Target: cold ≥ 0.9 × steady.");
        md.AppendLine();
        md.AppendLine("| scenario | measured | unit | EventflowDB cold | steady | cold ÷ steady | Redis cold | steady | cold ÷ steady | cold ratio to Redis | steady ratio to Redis |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int s = 0; s < scenarios.Length; s++)
        {
            var ef = runs[s][0];
            var redis = runs[s][1];
            double efCold = Median(ef.Cold), efSteady = Median(ef.Steady), rCold = Median(redis.Cold), rSteady = Median(redis.Steady);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {scenarios[s].Name} | {scenarios[s].Measured} | {scenarios[s].Unit} | {efCold:N0} | {efSteady:N0} | {efCold / efSteady:0.00} | {rCold:N0} | {rSteady:N0} | {rCold / rSteady:0.00} | {efCold / rCold:0.00}× | {efSteady / rSteady:0.00}× |");
        }

        md.AppendLine();
        md.AppendLine("Runs (cold → steady):");
        md.AppendLine();
        for (int s = 0; s < scenarios.Length; s++)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {scenarios[s].Name} ({scenarios[s].Unit}): EventflowDB {Runs(runs[s][0])}; Redis {Runs(runs[s][1])}");
        }

        md.AppendLine();
        Console.Write(md.ToString());
        if (only is not null)
        {
            Console.WriteLine("(--only: docs/benchmarks.md not written)");
            return 0;
        }

        string path = Path.Combine(root, "docs", "benchmarks.md");
        string existing = File.Exists(path) ? await File.ReadAllTextAsync(path).ConfigureAwait(false) : "# Benchmarks\n";
        await File.WriteAllTextAsync(path, ReportSections.Merge(existing, SectionTitle, md.ToString(), before: "## Operations")).ConfigureAwait(false);
        return 0;
    }

    /// <summary>A redis-benchmark scenario: the first <paramref name="requests"/>, a warm-up of <paramref name="warmUp"/>, the same requests again.</summary>
    private static Scenario Writes(string name, bool events, bool relaxed, int requests, int warmUp, Func<ServerProcess, int, Task<LoadResult>> run)
        => new(name, events, relaxed, $"first {requests:N0} requests; warm-up {warmUp:N0}", null, s => run(s, requests), s => run(s, warmUp));

    private static Task LoadScan(ServerProcess server)
        => Task.Run(() =>
        {
            if (server.IsRedis)
            {
                Workloads.PreloadScanRedis(server.Port, ScanEvents);
            }
            else
            {
                Workloads.PreloadScanEventflow(server.Port, ScanEvents);
            }
        });

    private static async Task WarmScan(ServerProcess server)
    {
        for (int i = 0; i < 2; i++)
        {
            await Scenarios.RunScan(server, ScanEvents).ConfigureAwait(false);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Runs((List<double> Cold, List<double> Steady) side) =>
        string.Join(", ", side.Cold.Zip(side.Steady, (c, s) => $"{c:N0} → {s:N0}"));

    /// <summary>
    /// One scenario: <see cref="Load"/> (reads only) writes the data before the restart, <see cref="Measure"/> is run
    /// cold and steady, <see cref="WarmUp"/> between them. <see cref="Events"/>: measured in events/s, else requests/s.
    /// </summary>
    private sealed record Scenario(string Name, bool Events, bool Relaxed, string Measured, Func<ServerProcess, Task>? Load, Func<ServerProcess, Task<LoadResult>> Measure, Func<ServerProcess, Task> WarmUp)
    {
        public string Unit => Events ? "events/s" : "requests/s";

        public double Value(LoadResult result) => Events ? result.EventsPerSecond : result.OpsPerSecond;
    }
}
