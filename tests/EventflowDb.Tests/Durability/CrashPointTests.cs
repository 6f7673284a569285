using System.Diagnostics;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>
/// kill -9 at chosen moments of the storage's life (segment switches, segment files appearing, segment prefills,
/// index checkpoints, snapshot writes, random delays, and during recovery itself) under a concurrent ADD load,
/// many times on one data directory and on a few fresh ones. After each restart the store must hold every
/// acknowledged ADD exactly as acknowledged, whole ADDs only, gap-free positions and versions
/// (<see cref="CrashPointWorkload.VerifyAsync"/>).
/// Knobs: <c>EFDB_SEED</c> (repeat a run; printed first), <c>EFDB_CRASH_POINTS</c> (default 15), <c>EFDB_CRASH_MOMENT</c>
/// (only this <see cref="CrashMoment"/>, e.g. <c>SegmentSwitch</c>).
/// </summary>
public sealed class CrashPointTests(ITestOutputHelper output) : IntegrationTest(output)
{
    /// <summary>How long to wait for a watched moment before killing anyway.</summary>
    private static readonly TimeSpan MomentWindow = TimeSpan.FromSeconds(3);

    private const int Writers = 6;
    private const double LargeShare = 0.01;
    private const int KilledExitCode = 128 + 9;

    [Fact]
    public async Task Acknowledged_adds_survive_kill_9_at_segment_switches_prefills_checkpoints_and_recovery()
    {
        int seed = TestKnobs.Seed();
        int points = TestKnobs.Int("EFDB_CRASH_POINTS", 15);
        var plan = Plan(points);
        TestOutput.WriteLine($"seed {seed} (EFDB_SEED={seed} repeats this run), {points} crash points (EFDB_CRASH_POINTS) on {plan.Count} data directories: {string.Join(", ", plan)}");
        var random = new Random(seed);
        var total = Stopwatch.StartNew();
        var tally = new Dictionary<string, int>(StringComparer.Ordinal);
        int done = 0;
        for (int d = 0; d < plan.Count; d++)
        {
            done += await RunDirectoryAsync(d, plan[d], seed, random, tally, done);
        }

        TestOutput.WriteLine($"{done} crash points in {total.Elapsed.TotalSeconds:F1} s; moments: {string.Join(", ", tally.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key} {t.Value}"))}");
    }

    /// <summary>Crash points per data directory: one long-lived directory, then a few fresh ones, repeated.</summary>
    private static List<int> Plan(int points)
    {
        var plan = new List<int>();
        int left = points;
        while (left > 0)
        {
            int longLived = Math.Min(left, Math.Min(40, Math.Max(1, (int)Math.Ceiling(points * 0.6))));
            plan.Add(longLived);
            left -= longLived;
            for (int i = 0; i < 2 && left > 0; i++)
            {
                int fresh = Math.Min(left, 3);
                plan.Add(fresh);
                left -= fresh;
            }
        }

        return plan;
    }

    /// <summary>A moment by weight, or always the one named by <c>EFDB_CRASH_MOMENT</c> (for chasing one kind of failure).</summary>
    private static CrashMoment PickMoment(Random random) =>
        Environment.GetEnvironmentVariable("EFDB_CRASH_MOMENT") is { Length: > 0 } forced
            ? Enum.Parse<CrashMoment>(forced, ignoreCase: true)
            : PickWeighted(random);

    private static CrashMoment PickWeighted(Random random) => random.Next(100) switch
    {
        < 20 => CrashMoment.SegmentSwitch,
        < 32 => CrashMoment.SegmentFile,
        < 44 => CrashMoment.Prefill,
        < 62 => CrashMoment.IndexCheckpoint,
        < 76 => CrashMoment.SnapshotWrite,
        < 86 => CrashMoment.Delay,
        < 94 => CrashMoment.DuringStart,
        _ => CrashMoment.DuringShutdown,
    };

    private static int KillDelayMs(CrashMoment moment, Random random) => moment switch
    {
        CrashMoment.IndexCheckpoint => random.Next(0, 700),
        CrashMoment.Prefill => random.Next(0, 40),
        CrashMoment.SnapshotWrite => random.Next(3) == 0 ? random.Next(1, 4) : 0,
        CrashMoment.SegmentSwitch or CrashMoment.SegmentFile => random.Next(3) == 0 ? random.Next(1, 30) : 0,
        _ => 0,
    };

    private static string Tail(string output, int lines = 60)
    {
        var all = output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private async Task<int> RunDirectoryAsync(int d, int points, int seed, Random random, Dictionary<string, int> tally, int pointsBefore)
    {
        string data = ServerProcess.NewTempDirectory();
        StoreFiles.CreateWithSegmentBits(data);
        bool directIo = random.Next(4) != 0;
        var settings = new ServerSettings
        {
            DataDirectory = data,
            ExtraArgs = ["--checkpoint-interval", "1", "--direct-io", directIo ? "yes" : "no"],
        };
        var started = await ServerProcess.StartOrExitAsync(settings);
        Assert.True(started.Started, $"the server did not start on a fresh data directory (status {started.ExitCode}):\n{started.Output}");
        var server = started.Server!;
        Track(server);
        var workload = new CrashPointWorkload($"d{d}", Writers, LargeShare);
        TestOutput.WriteLine($"data directory {d}: {data}, 4 MiB segments, checkpoint every 1 s, direct I/O {(directIo ? "yes" : "no")}, {points} crash points");
        int p = 0;
        string moment = "start";
        try
        {
            for (p = 0; p < points; p++)
            {
                var m = PickMoment(random);
                moment = m.ToString();
                var (line, seen) = await CrashPointAsync(server, workload, data, m, $"d{d}p{p}", random);
                string key = seen ? moment : $"{moment} (not seen)";
                tally[key] = tally.GetValueOrDefault(key) + 1;
                TestOutput.WriteLine($"  point {pointsBefore + p} (dir {d} #{p}) {line}");
            }

            // A graceful restart after all that changes nothing.
            int events = workload.VerifiedEvents;
            Assert.Equal(0, await server.StopAsync());
            int? exit = await server.RestartOrExitAsync();
            Assert.True(exit is null, $"the server refused a graceful restart (status {exit}):\n{Tail(server.Output)}");
            var after = await workload.VerifyAsync(server);
            Assert.Equal(events, after.Events);
            TestOutput.WriteLine($"  dir {d}: graceful restart serves the same {after.Events} events ({after.Bytes / 1024} KiB, {after.Streams} streams); {workload.Acked.Count} ADDs acknowledged, {workload.Rejected.Count} refused, {workload.Sent.Count} sent in all");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException(
                $"crash point {p} ({moment}) of data directory {d} failed (seed {seed}: EFDB_SEED={seed} repeats it; data kept in {data}): {e.Message}\n"
                + $"last lines of the server output:\n{Tail(server.Output)}",
                e);
        }
        finally
        {
            await server.DisposeAsync();
        }

        ServerProcess.TryDeleteDirectory(data);
        return points;
    }

    /// <summary>One crash point: load, kill at the moment, restart (perhaps killed once more while recovering), verify.</summary>
    private async Task<(string Line, bool Seen)> CrashPointAsync(ServerProcess server, CrashPointWorkload workload, string data, CrashMoment moment, string round, Random random)
    {
        int killDelay = KillDelayMs(moment, random);
        int warmup = random.Next(0, 200);
        int delay = random.Next(100, 1500);
        int roundSeed = random.Next();
        int startKill = random.Next(0, 1500);
        int stopKill = random.Next(0, 400);
        var watch = Stopwatch.StartNew();
        bool? killed = null;
        using var stop = new CancellationTokenSource();
        var writing = workload.RunAsync(server, round, roundSeed, stop.Token);
        await Task.Delay(warmup);
        string what;
        bool seen = true;
        using (var watcher = CrashMomentWatcher.Arm(data, moment, killDelay, () => killed ??= server.SignalKill()))
        {
            if (moment is CrashMoment.Delay or CrashMoment.DuringStart)
            {
                await Task.Delay(delay);
                watcher.FireNow($"{warmup + delay} ms in");
            }
            else if (moment is CrashMoment.DuringShutdown)
            {
                await Task.Delay(delay);
                workload.ShuttingDown = true;
                Assert.True(server.SignalTerm(), "the server had exited by itself before SIGTERM");
                await Task.Delay(stopKill);
                watcher.FireNow(server.IsRunning ? $"SIGTERM {warmup + delay} ms in, SIGKILL {stopKill} ms later" : $"SIGTERM {warmup + delay} ms in; it had stopped within {stopKill} ms");
            }
            else if (await Task.WhenAny(watcher.Fired, Task.Delay(MomentWindow)) != watcher.Fired)
            {
                seen = false;
                watcher.FireNow($"not seen within {MomentWindow.TotalSeconds} s (watcher overflows {watcher.Overflows}): killed anyway");
            }

            what = await watcher.Fired;
        }

        await server.KillAsync();
        Assert.True(killed == true || (moment == CrashMoment.DuringShutdown && server.ExitCode == 0), $"the server had exited by itself before the kill at {what}:\n{Tail(server.Output)}");
        await stop.CancelAsync();
        var round1 = await writing;
        workload.ShuttingDown = false;
        long killedAt = watch.ElapsedMilliseconds;

        string again = "";
        if (moment == CrashMoment.DuringStart)
        {
            // Kill it once more while it recovers (or just after it came up, when it was quicker).
            var restart = server.RestartOrExitAsync();
            await Task.Delay(startKill);
            bool signalled = server.SignalKill();
            int? code = await restart;
            if (code is null)
            {
                server.SignalKill();
                await server.KillAsync();
                again = $"; restarted and killed again {startKill} ms later, after it was up";
            }
            else
            {
                Assert.True(signalled && code == KilledExitCode, $"the restart exited by itself with status {code} before the second kill:\n{Tail(server.Output)}");
                await server.KillAsync();
                again = $"; restarted and killed again {startKill} ms later, while recovering";
            }
        }

        var restartWatch = Stopwatch.StartNew();
        int? exit = await server.RestartOrExitAsync();
        Assert.True(exit is null, $"the server refused to start after the crash (status {exit}):\n{Tail(server.Output)}");
        long restartMs = restartWatch.ElapsedMilliseconds;
        var verifyWatch = Stopwatch.StartNew();
        var verified = await workload.VerifyAsync(server);
        Assert.True(workload.Problems.IsEmpty, "wrong replies during the load:\n" + string.Join("\n", workload.Problems.Take(20)));
        return ($"{moment}: {what}{again}; {round1.Acked} ADDs acknowledged ({round1.AckedBytes / 1024} KiB), {round1.Rejected} refused, {round1.InFlight} in flight ({verified.InFlightPresent} stored, {verified.InFlightAbsent} not), {round1.Resent} sent again; "
            + $"killed at {killedAt} ms, restart {restartMs} ms, verify {verifyWatch.ElapsedMilliseconds} ms ({verified.Timings}); {verified.Events} events, {verified.Bytes / 1024} KiB, {verified.Streams} streams, {StoreFiles.LogSegments(data).Count} segment files", seen);
    }
}
