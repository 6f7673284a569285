using System.Diagnostics;
using EventflowDb.Bench.Compare;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// <c>soak [--minutes 30] [--out docs/] ...</c>: builds and starts the server (Release) on a loopback port and a
/// temporary data directory, runs mixed load (writers, readers, subscribers that read, stalled subscribers,
/// connect-and-vanish clients, bad requests, a latency probe) for the given minutes, samples the server every second,
/// then writes the Results section of soak.md and soak.png and exits 1 when <see cref="GrowthRule"/> fails.
/// </summary>
internal static class SoakRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = SoakOptions.Parse(args, out string? error);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return 2;
        }

        string root = Repo.Root();
        string outDirectory = Path.GetFullPath(options.OutDirectory ?? Path.Combine(root, "docs"));
        Console.WriteLine("Building the server (Release)...");
        var build = await Shell.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(root, "server/EventflowDb.Server/EventflowDb.Server.csproj")]).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            await Console.Error.WriteLineAsync(build.Output).ConfigureAwait(false);
            return 1;
        }

        string dll = Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        var temp = Directory.CreateTempSubdirectory("efdb-soak-");
        string data = Path.Combine(temp.FullName, "data");
        string log = Path.Combine(temp.FullName, "server.log");
        SoakResult result;
        try
        {
            result = await RunServerAsync(options, dll, data, log, outDirectory).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // The server did not start (a --server-arg it does not know yet, say): show why, from the end of its log.
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            foreach (var line in File.Exists(log) ? File.ReadLines(log).TakeLast(10) : [])
            {
                await Console.Error.WriteLineAsync("  " + line).ConfigureAwait(false);
            }

            return 1;
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }

            Console.WriteLine($"Server log: {log}");
        }

        string chartPath = Path.Combine(outDirectory, "soak.png");
        string reportPath = Path.Combine(outDirectory, "soak.md");
        string? existing = File.Exists(reportPath)
            ? await File.ReadAllTextAsync(reportPath).ConfigureAwait(false)
            : File.Exists(Path.Combine(root, "docs", "soak.md")) ? await File.ReadAllTextAsync(Path.Combine(root, "docs", "soak.md")).ConfigureAwait(false) : null;
        await File.WriteAllTextAsync(reportPath, SoakReport.Merge(existing, SoakReport.Results(result))).ConfigureAwait(false);
        Console.WriteLine();
        Console.WriteLine($"Verdict: {(result.Verdict.Passed ? "PASS" : "FAIL")}");
        foreach (var reason in result.Verdict.Reasons)
        {
            Console.WriteLine($"  {reason}");
        }

        Console.WriteLine($"Wrote {reportPath}{(result.Chart is null ? "" : $" and {chartPath}")}");
        return result.Verdict.Passed ? 0 : 1;
    }

    private static async Task<SoakResult> RunServerAsync(SoakOptions options, string dll, string data, string log, string outDirectory)
    {
        var counters = new SoakCounters();
        var samples = new List<SoakSample>();
        using var server = new SoakServer(dll, data, options.Port, options.ServerArgs, log);
        Console.WriteLine($"Starting {server.CommandLine}");
        await server.StartAsync().ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var probe = new LatencyProbe(clock, options.Duration, options.Port, counters);
        var workers = new List<LoadWorker> { probe };
        workers.AddRange(Enumerable.Range(0, options.Writers).Select(i => new WriterLoad(i, (double)options.WriteRate / options.Writers, options.Port, counters)));
        workers.AddRange(Enumerable.Range(0, options.Readers).Select(i => new ReaderLoad(i, options.Writers, options.Port, counters)));
        workers.AddRange(Enumerable.Range(0, options.Subscribers).Select(i => new SubscriberLoad(i, options.Port, counters)));
        if (options.Stalled > 0)
        {
            workers.Add(new StalledSubscribers(options.Stalled, options.Port, counters));
        }

        if (options.ChurnRate > 0)
        {
            workers.Add(new ChurnLoad(options.ChurnRate, options.Port, counters));
        }

        if (options.BadRate > 0)
        {
            workers.Add(new BadRequestLoad(options.BadRate, options.Port, counters));
        }

        workers.ForEach(w => w.Start(stop.Token));
        Console.WriteLine($"Load for {options.Minutes:0.##} min: {string.Join(", ", workers.Select(w => w.Name))}");
        Console.WriteLine("| min | RSS MiB avg / max | threads avg / max | connections avg / max | ADD p50 / p99 ms | GET p50 / p99 ms | events written | events stored | delivered | stalled dropped | vanished | bad (wrong) | load errors |");

        string? serverExit = null;
        using var sampler = new Sampler(server.Pid, options.Port, counters);
        var duration = options.Duration;
        int printed = 0;
        for (int second = 1; second <= Math.Ceiling(duration.TotalSeconds); second++)
        {
            var wait = TimeSpan.FromSeconds(second) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait).ConfigureAwait(false);
            }
            else if (wait < TimeSpan.FromSeconds(-1))
            {
                continue; // a slow sample: skip the seconds it overran
            }

            if (server.HasExited)
            {
                serverExit = $"exit status {server.ExitCode} after {clock.Elapsed.TotalMinutes:0.0} min";
                break;
            }

            samples.Add(sampler.Take(second)); // sample k stands for second k: samples 1..60 make minute 1
            printed = PrintRows(samples, probe, printed, second / 60); // the minutes completed
        }

        double seconds = Math.Min(clock.Elapsed.TotalSeconds, duration.TotalSeconds);
        stop.Cancel();
        PrintRows(samples, probe, printed, int.MaxValue);
        Console.WriteLine("Stopping the load...");
        await Task.WhenAll(workers.Select(w => Task.Run(() => w.Join(TimeSpan.FromSeconds(40))))).ConfigureAwait(false);

        long acknowledged = counters[Counter.EventsWritten];
        long stored = sampler.Call("EVENTCOUNT") is { Kind: ReplyKind.Integer } count ? count.Integer : -1;
        string size = sampler.Call("SIZE") is { Kind: ReplyKind.Array, LastHead: { } human } ? human : "unknown";
        sampler.Dispose();
        var stopTime = await server.StopAsync().ConfigureAwait(false);

        var rows = MinuteRow.Build(samples, probe);
        var verdict = GrowthRule.Judge(samples, seconds, serverExit, acknowledged, stored);
        Directory.CreateDirectory(outDirectory);
        bool charted = SoakChart.TryWrite(samples, rows, seconds, Path.Combine(outDirectory, "soak.png"));
        return new SoakResult(
            options,
            server.CommandLine.Replace(data, "<temp>/data", StringComparison.Ordinal).Replace(dll, "EventflowDb.Server.dll", StringComparison.Ordinal),
            seconds,
            rows,
            verdict,
            counters.Snapshot(),
            stored,
            size,
            stopTime,
            server.Warnings,
            server.WarningExamples(),
            counters.Notes(),
            charted ? "soak.png" : null);
    }

    /// <summary>Prints the rows of the minutes before <paramref name="upTo"/> not yet printed; returns how many are printed.</summary>
    private static int PrintRows(List<SoakSample> samples, LatencyProbe probe, int printed, int upTo)
    {
        var rows = MinuteRow.Build(samples, probe);
        int until = Math.Min(upTo, rows.Count);
        for (int i = printed; i < until; i++)
        {
            Console.WriteLine(SoakReport.Row(rows[i]));
        }

        return Math.Max(printed, until);
    }
}
