using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventflowDb.Bench.Compare;
using EventflowDb.Protocol;
using EventflowDb.Testing;

namespace EventflowDb.Bench.Chaos;

/// <summary>
/// <c>chaos</c>: three real members behind a <see cref="PartitionProxy"/>, writers (single events and batches, all with
/// message ids) and a FOLLOW reader on a follower, while faults are injected at random: kill -9 (leader or follower,
/// restarted), SIGSTOP/SIGCONT for 2–15 s, partitions (one member isolated, or one link cut; bytes dropped or links
/// reset), and rarely a wiped data directory. After each fault, with the writers paused, it checks: a leader within 5 s
/// while a majority is up, every acknowledged event on every member once, CHECKSUM and count equal, no message id
/// twice, stream versions and positions without gaps, the FOLLOW reader without gap or repeat.
/// <c>chaos [--minutes 60] [--seed N] [--out file.md] [--dll server.dll] [--snapshot-entries N] [--replication async]</c>;
/// exits 1 on any violation (under async, acknowledged events a deposed leader held alone are counted, not violations). <c>--snapshot-entries</c> passes <c>--cluster-snapshot-entries</c> to the members: small values make wiped
/// and long-stopped members install store copies.
/// </summary>
internal static class ChaosRun
{
    private const int WriterCount = 4;
    private static readonly TimeSpan LeaderLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Quick = TimeSpan.FromMilliseconds(700);

    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        double minutes = Option("--minutes") is { } m ? double.Parse(m, CultureInfo.InvariantCulture) : 60;
        int seed = Option("--seed") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Environment.TickCount & 0xFFFF;
        string root = Repo.Root();
        string dll = Option("--dll") ?? Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        if (!File.Exists(dll))
        {
            await Console.Error.WriteLineAsync($"{dll} not found: dotnet build -c Release server/EventflowDb.Server first").ConfigureAwait(false);
            return 2;
        }

        string[] serverArgs = Option("--snapshot-entries") is { } entries ? ["--cluster-snapshot-entries", entries] : [];
        bool asyncReplication = Option("--replication") == "async";
        if (asyncReplication)
        {
            serverArgs = [.. serverArgs, "--replication", "async"];
        }

        var run = new Chaos(seed, dll, TimeSpan.FromMinutes(minutes), serverArgs) { AsyncReplication = asyncReplication };
        int code = await run.RunAsync().ConfigureAwait(false);
        if (Option("--out") is { } output)
        {
            await File.WriteAllTextAsync(output, run.Summary()).ConfigureAwait(false);
            Console.WriteLine($"summary written to {output}");
        }

        return code;
    }

    private enum FaultKind
    {
        KillLeader,
        KillFollower,
        FreezeLeader,
        FreezeFollower,
        IsolateLeader,
        IsolateFollower,
        CutLink,
        WipeFollower,
        WipeLeader,
    }

    private sealed class Chaos(int seed, string dll, TimeSpan duration, string[] serverArgs)
    {
        private static readonly (FaultKind Kind, int Weight)[] Weights =
        [
            (FaultKind.KillLeader, 14), (FaultKind.KillFollower, 10), (FaultKind.FreezeLeader, 10), (FaultKind.FreezeFollower, 8),
            (FaultKind.IsolateLeader, 14), (FaultKind.IsolateFollower, 10), (FaultKind.CutLink, 12), (FaultKind.WipeFollower, 3), (FaultKind.WipeLeader, 2),
        ];

        private readonly Random _random = new(seed);
        private long _lostAsync;
        private long _followResyncs;

        /// <summary>
        /// <c>--replication async</c>: a write the leader acknowledged alone may be lost when it loses leadership (by
        /// design); such events are counted, not violations. Every other invariant holds as under sync.
        /// </summary>
        public bool AsyncReplication { get; init; }

        private readonly Stopwatch _clock = new();
        private readonly List<string> _violations = [];
        private readonly Dictionary<string, int> _faults = [];
        private readonly List<double> _failovers = [];
        private readonly List<double> _leaderAfterHeal = [];
        private readonly Dictionary<string, List<double>> _failoversByKind = [];
        private readonly ConcurrentDictionary<string, long> _unseen = new();
        private readonly HashSet<string> _seen = [];
        private readonly Dictionary<string, long> _nextVersion = [];
        private readonly CancellationTokenSource _stopWriters = new();
        private readonly CancellationTokenSource _stopReader = new();
        private ChaosMember[] _members = [];
        private PartitionProxy? _proxy;
        private string _directory = "";
        private volatile bool _paused;
        private int _idle;
        private long _acknowledgedEvents;
        private long _acknowledgedWrites;
        private long _batches;
        private long _unknownOutcomes;
        private long _verified;
        private string _verifiedLastId = "00000000000000000000000000";
        private int _followMember;
        private long _followLast = -1;
        private long _followDelivered;
        private long _followReconnects;
        private int _checks;
        private DateTime _started;

        public async Task<int> RunAsync()
        {
            _started = DateTime.UtcNow;
            _directory = Path.Combine(Path.GetTempPath(), $"efdb-chaos-{seed}-{Guid.NewGuid().ToString("N")[..6]}");
            Directory.CreateDirectory(_directory);
            int[] client = [.. Enumerable.Range(0, 3).Select(_ => FreePort())];
            int[] front = [.. Enumerable.Range(0, 3).Select(_ => FreePort())];
            int[] back = [.. Enumerable.Range(0, 3).Select(_ => FreePort())];
            string list = string.Join(",", front.Select(p => $"127.0.0.1:{p}"));
            _proxy = new PartitionProxy(front, back);
            _members = [.. Enumerable.Range(0, 3).Select(i => new ChaosMember(i, dll, _directory, client[i], front[i], back[i], list, serverArgs))];
            Log($"chaos seed {seed}, {duration.TotalMinutes:0.#} min, members in {_directory} (client ports {string.Join(",", client)}, peer identities {string.Join(",", front)} -> {string.Join(",", back)})");
            Task[] writers = [];
            Task? reader = null;
            try
            {
                foreach (var member in _members)
                {
                    StartMember(member);
                }

                foreach (var member in _members)
                {
                    if (!await member.WaitReadyAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false))
                    {
                        Violation($"member {member.Index} did not start (see {member.LogPath})");
                        return 1;
                    }
                }

                int leader = await FindLeaderAsync(-1, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                if (leader < 0)
                {
                    Violation("no leader within 60 s of the start");
                    return 1;
                }

                _clock.Start();
                _followMember = (leader + 1) % 3;
                Log($"leader {leader}; FOLLOW $all reader on member {_followMember}");
                reader = Task.Run(FollowAsync);
                writers = [.. Enumerable.Range(0, WriterCount).Select(w => Task.Run(() => WriterAsync(w)))];

                while (_clock.Elapsed < duration)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5 + (_random.NextDouble() * 10))).ConfigureAwait(false);
                    if (_clock.Elapsed >= duration)
                    {
                        break;
                    }

                    await InjectAsync(Pick()).ConfigureAwait(false);
                    await CheckAsync(full: false).ConfigureAwait(false);
                }

                Log("duration reached: stopping writers, final check");
                await _stopWriters.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(writers).ConfigureAwait(false);
                await CheckAsync(full: true).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Violation($"the chaos run itself failed: {e}");
            }
            finally
            {
                await _stopWriters.CancelAsync().ConfigureAwait(false);
                await _stopReader.CancelAsync().ConfigureAwait(false);
                try
                {
                    await Task.WhenAll([.. writers, reader ?? Task.CompletedTask]).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TimeoutException or OperationCanceledException)
                {
                }

                foreach (var member in _members)
                {
                    member.Dispose();
                }

                await _proxy.DisposeAsync().ConfigureAwait(false);
            }

            Console.WriteLine(Summary());
            if (_violations.Count == 0)
            {
                try
                {
                    Directory.Delete(_directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
            else
            {
                Console.WriteLine($"member logs and data kept in {_directory}");
            }

            return _violations.Count == 0 ? 0 : 1;
        }

        /// <summary>Lines of all members' logs (every start) that contain <paramref name="text"/>.</summary>
        private int CountInLogs(string text)
        {
            int count = 0;
            foreach (var member in _members.Where(m => File.Exists(m.LogPath)))
            {
                // The member's writer still holds the file open.
                using var reader = new StreamReader(new FileStream(member.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                while (reader.ReadLine() is { } line)
                {
                    count += line.Contains(text, StringComparison.Ordinal) ? 1 : 0;
                }
            }

            return count;
        }

        private string? _summary;

        /// <summary>The run's summary, made once (the members' logs it counts from are deleted after a clean run).</summary>
        public string Summary() => _summary ??= MakeSummary();

        private string MakeSummary()
        {
            var md = new StringBuilder();
            md.AppendLine(CultureInfo.InvariantCulture, $"Chaos run started {_started:yyyy-MM-dd HH:mm} UTC, seed {seed}, {_clock.Elapsed.TotalMinutes:0.0} min of faults, 3 members on one machine, {WriterCount} writers + 1 FOLLOW reader");
            md.AppendLine();
            md.AppendLine("| fault | injected |");
            md.AppendLine("|---|---|");
            foreach (var (kind, count) in _faults.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | {count} |");
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"| **total** | {_faults.Values.Sum()} |");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"- writes acknowledged: {_acknowledgedWrites:N0} ({_batches:N0} of them batches), events acknowledged: {_acknowledgedEvents:N0}; writes given up with an unknown outcome: {_unknownOutcomes:N0}");
            md.AppendLine(CultureInfo.InvariantCulture, $"- events verified in the log (positions, versions, message ids): {_verified:N0}; checks run: {_checks}");
            if (AsyncReplication)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- `--replication async`: acknowledged events lost (acknowledged by a leader alone): {Interlocked.Read(ref _lostAsync):N0}; FOLLOW resynchronised after a divergence: {Interlocked.Read(ref _followResyncs):N0}");
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"- FOLLOW reader: {_followDelivered:N0} deliveries, {_followReconnects:N0} reconnects, last position {_followLast:N0}");
            md.AppendLine(CultureInfo.InvariantCulture, $"- failover (fault on the leader until another member says master): {Stats(_failovers)}");
            foreach (var (kind, times) in _failoversByKind.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"  - {kind}: {Stats(times)}");
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"- leader after healing/restarting (until some member says master): {Stats(_leaderAfterHeal)}");
            md.AppendLine(CultureInfo.InvariantCulture, $"- partition proxy: {_proxy?.Accepted ?? 0:N0} links forwarded, {_proxy?.Refused ?? 0:N0} cut at accept, {_proxy?.Unidentified ?? 0:N0} of unknown origin");
            if (serverArgs.Length > 0)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- member flags added: `{string.Join(' ', serverArgs)}`");
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"- Raft log compactions: {CountInLogs("Raft log compacted through"):N0}; store copies installed: {CountInLogs("installed the store copied from"):N0} (started: {CountInLogs("installing a copy of a member's store"):N0})");
            md.AppendLine(CultureInfo.InvariantCulture, $"- invariant violations: {_violations.Count}");
            foreach (string v in _violations.Take(50))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"  - {v}");
            }

            return md.ToString();
        }

        private static string Stats(List<double> ms)
        {
            if (ms.Count == 0)
            {
                return "none";
            }

            var sorted = ms.Order().ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{ms.Count} times, min {sorted[0]:N0} ms, median {sorted[sorted.Count / 2]:N0} ms, max {sorted[^1]:N0} ms");
        }

        private FaultKind Pick()
        {
            int total = Weights.Sum(w => w.Weight);
            int r = _random.Next(total);
            foreach (var (kind, weight) in Weights)
            {
                if (r < weight)
                {
                    return kind;
                }

                r -= weight;
            }

            return FaultKind.KillFollower;
        }

        private void StartMember(ChaosMember member)
        {
            member.Start();
            _proxy!.SetProcess(member.Index, member.Pid);
        }

        private async Task InjectAsync(FaultKind kind)
        {
            int leader = await FindLeaderAsync(-1, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (leader < 0)
            {
                Violation($"before {kind}: no leader within 30 s with every member up");
                return;
            }

            int follower = (leader + 1 + _random.Next(2)) % 3;
            bool drop = _random.Next(2) == 0;
            string name = kind switch
            {
                FaultKind.IsolateLeader or FaultKind.IsolateFollower or FaultKind.CutLink => $"{kind} ({(drop ? "drop" : "reset")})",
                _ => kind.ToString(),
            };
            _faults[name] = _faults.GetValueOrDefault(name) + 1;
            long ackedBefore = Interlocked.Read(ref _acknowledgedEvents);
            var fault = Stopwatch.StartNew();
            switch (kind)
            {
                case FaultKind.KillLeader or FaultKind.KillFollower:
                    {
                        int victim = kind == FaultKind.KillLeader ? leader : follower;
                        Log($"fault: kill -9 member {victim} ({(victim == leader ? "leader" : "follower")})");
                        _members[victim].Kill();
                        await MeasureFailoverAsync(name, leader, victim, fault).ConfigureAwait(false);
                        await Task.Delay(TimeSpan.FromSeconds(1 + (_random.NextDouble() * 4))).ConfigureAwait(false);
                        await RestartAsync(victim).ConfigureAwait(false);
                        break;
                    }

                case FaultKind.FreezeLeader or FaultKind.FreezeFollower:
                    {
                        int victim = kind == FaultKind.FreezeLeader ? leader : follower;
                        var hold = TimeSpan.FromSeconds(2 + (_random.NextDouble() * 13));
                        Log($"fault: SIGSTOP member {victim} ({(victim == leader ? "leader" : "follower")}) for {hold.TotalSeconds:0.0} s");
                        _members[victim].Freeze();
                        try
                        {
                            await MeasureFailoverAsync(name, leader, victim, fault).ConfigureAwait(false);
                            await HoldRestAsync(hold, fault).ConfigureAwait(false);
                        }
                        finally
                        {
                            _members[victim].Thaw();
                        }

                        break;
                    }

                case FaultKind.IsolateLeader or FaultKind.IsolateFollower:
                    {
                        int victim = kind == FaultKind.IsolateLeader ? leader : follower;
                        var hold = TimeSpan.FromSeconds(3 + (_random.NextDouble() * 7));
                        Log($"fault: isolate member {victim} ({(victim == leader ? "leader" : "follower")}, {(drop ? "bytes dropped" : "links reset")}) for {hold.TotalSeconds:0.0} s");
                        _proxy!.Drop = drop;
                        _proxy.Isolate(victim);
                        try
                        {
                            await MeasureFailoverAsync(name, leader, victim, fault).ConfigureAwait(false);
                            await ProbeIsolatedAsync(victim).ConfigureAwait(false);
                            await HoldRestAsync(hold, fault).ConfigureAwait(false);
                        }
                        finally
                        {
                            _proxy.Heal();
                        }

                        break;
                    }

                case FaultKind.CutLink:
                    {
                        int a = _random.Next(3);
                        int b = (a + 1 + _random.Next(2)) % 3;
                        var hold = TimeSpan.FromSeconds(3 + (_random.NextDouble() * 7));
                        Log($"fault: cut link {a}-{b} (leader {leader}, {(drop ? "bytes dropped" : "links reset")}) for {hold.TotalSeconds:0.0} s");
                        _proxy!.Drop = drop;
                        _proxy.Cut(a, b);
                        try
                        {
                            // Every member still reaches a majority (itself and one other): a leader must exist throughout.
                            var clock = Stopwatch.StartNew();
                            int now = await FindLeaderAsync(-1, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                            if (now < 0 || clock.Elapsed > LeaderLimit)
                            {
                                Violation($"{name}: no leader for {clock.Elapsed.TotalMilliseconds:N0} ms after cutting {a}-{b}");
                            }

                            await HoldRestAsync(hold, fault).ConfigureAwait(false);
                        }
                        finally
                        {
                            _proxy.Heal();
                        }

                        break;
                    }

                case FaultKind.WipeFollower or FaultKind.WipeLeader:
                    {
                        int victim = kind == FaultKind.WipeLeader ? leader : follower;
                        Log($"fault: kill -9 member {victim} ({(victim == leader ? "leader" : "follower")}), wipe its data directory, restart it empty");
                        _members[victim].Kill();
                        _members[victim].Wipe();
                        await MeasureFailoverAsync(name, leader, victim, fault).ConfigureAwait(false);
                        await Task.Delay(TimeSpan.FromSeconds(1 + (_random.NextDouble() * 2))).ConfigureAwait(false);
                        await RestartAsync(victim).ConfigureAwait(false);
                        break;
                    }
            }

            Log($"healed after {fault.Elapsed.TotalSeconds:0.0} s; {Interlocked.Read(ref _acknowledgedEvents) - ackedBefore} events acknowledged during the fault");
        }

        /// <summary>When the leader was hit, the time until another member says master (a violation past 5 s: a majority is up).</summary>
        private async Task MeasureFailoverAsync(string name, int leader, int victim, Stopwatch fault)
        {
            if (victim != leader)
            {
                return;
            }

            int next = await FindLeaderAsync(victim, TimeSpan.FromSeconds(60), fault).ConfigureAwait(false);
            double ms = fault.Elapsed.TotalMilliseconds;
            if (next < 0)
            {
                Violation($"{name}: no new leader among the majority within 60 s");
                return;
            }

            _failovers.Add(ms);
            string kind = name;
            if (!_failoversByKind.TryGetValue(kind, out var list))
            {
                _failoversByKind[kind] = list = [];
            }

            list.Add(ms);
            Log($"  member {next} leads {ms:N0} ms after the fault");
            if (fault.Elapsed > LeaderLimit)
            {
                Violation($"{name}: the majority took {ms:N0} ms (over 5 s) to elect a leader");
            }
        }

        /// <summary>A write sent to an isolated member must not be acknowledged (it cannot reach a majority).</summary>
        private async Task ProbeIsolatedAsync(int victim)
        {
            string id = $"probe-{_clock.ElapsedMilliseconds}";
            try
            {
                var reply = await ChaosClient.CommandAsync(_members[victim].ClientPort, TimeSpan.FromSeconds(15), "ADD", AddJson("probe", [id])).ConfigureAwait(false);
                if (!reply.IsError())
                {
                    // Only a violation when the majority lacks it: checked with the acknowledged ids.
                    Log($"  the isolated member {victim} acknowledged {id}: {reply.Describe()}");
                    Acknowledge([id]);
                }
                else
                {
                    Log($"  isolated member {victim} refused a write: {reply.Describe()}");
                }
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                Log($"  isolated member {victim}: write outcome unknown ({e.GetType().Name})");
            }
        }

        private async Task RestartAsync(int victim)
        {
            StartMember(_members[victim]);
            if (!await _members[victim].WaitReadyAsync(TimeSpan.FromSeconds(300)).ConfigureAwait(false))
            {
                Violation($"member {victim} did not answer within 300 s of its restart (see {_members[victim].LogPath})");
            }
        }

        /// <summary>Writers paused, every member up and linked: leader, convergence, every acknowledged event once, FOLLOW caught up.</summary>
        private async Task CheckAsync(bool full)
        {
            _checks++;
            var clock = Stopwatch.StartNew();
            _paused = true;
            try
            {
                var leaderClock = Stopwatch.StartNew();
                int leader = await FindLeaderAsync(-1, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                if (leader < 0)
                {
                    Violation("check: no leader within 60 s with every member up and linked");
                    return;
                }

                _leaderAfterHeal.Add(leaderClock.Elapsed.TotalMilliseconds);
                if (leaderClock.Elapsed > LeaderLimit)
                {
                    Violation($"check: {leaderClock.Elapsed.TotalMilliseconds:N0} ms without a leader after healing (every member up)");
                }

                var idle = Stopwatch.StartNew();
                while (Volatile.Read(ref _idle) < WriterCount && !_stopWriters.IsCancellationRequested)
                {
                    if (idle.Elapsed > TimeSpan.FromSeconds(180))
                    {
                        Violation("check: writers still busy after 180 s (a write neither acknowledged nor refused)");
                        return;
                    }

                    await Task.Delay(50).ConfigureAwait(false);
                }

                string? state = await ConvergeAsync(TimeSpan.FromSeconds(300)).ConfigureAwait(false);
                if (state is null)
                {
                    return;
                }

                await VerifyNewEventsAsync(leader).ConfigureAwait(false);
                var missing = _unseen.Keys.ToList();
                if (missing.Count > 0 && AsyncReplication)
                {
                    Interlocked.Add(ref _lostAsync, missing.Count);
                    Log($"check: {missing.Count} acknowledged events not in the log (async replication: acknowledged by a leader alone)");
                    foreach (string id in missing)
                    {
                        _unseen.TryRemove(id, out _);
                    }
                }
                else if (missing.Count > 0)
                {
                    Violation($"check: {missing.Count} acknowledged events missing from the log: {string.Join(",", missing.Take(10))}");
                    foreach (string id in missing)
                    {
                        _unseen.TryRemove(id, out _);
                    }
                }

                // The FOLLOW reader must reach the last position.
                var follow = Stopwatch.StartNew();
                while (Interlocked.Read(ref _followLast) < _verified - 1)
                {
                    if (follow.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        Violation($"check: the FOLLOW reader on member {_followMember} stopped at position {Interlocked.Read(ref _followLast)} of {_verified - 1} for 60 s");
                        break;
                    }

                    await Task.Delay(50).ConfigureAwait(false);
                }

                if (full)
                {
                    await VerifyEveryMemberAsync().ConfigureAwait(false);
                }

                Log($"check {_checks}: leader {leader}, {state}, {_verified:N0} events verified, FOLLOW at {Interlocked.Read(ref _followLast):N0}, {_violations.Count} violations ({clock.Elapsed.TotalSeconds:0.0} s)");
            }
            finally
            {
                _paused = false;
            }
        }

        /// <summary>Polls every member's CHECKSUM and EVENTCOUNT until equal; their common state, or null (a violation) at the deadline.</summary>
        private async Task<string?> ConvergeAsync(TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            string last = "";
            while (true)
            {
                var states = new List<string>();
                foreach (var member in _members)
                {
                    try
                    {
                        var sum = await ChaosClient.CommandAsync(member.ClientPort, TimeSpan.FromSeconds(10), "CHECKSUM").ConfigureAwait(false);
                        var count = await ChaosClient.CommandAsync(member.ClientPort, TimeSpan.FromSeconds(10), "EVENTCOUNT").ConfigureAwait(false);
                        states.Add($"{sum.Items[0].Text}/{sum.Items[1].Text}/{count.Integer}");
                    }
                    catch (Exception e) when (e is IOException or SocketException or TimeoutException or ArgumentOutOfRangeException)
                    {
                        states.Add("unreachable");
                    }
                }

                last = string.Join(" | ", states);
                if (states.Distinct().Count() == 1 && states[0] != "unreachable")
                {
                    return $"converged in {clock.Elapsed.TotalSeconds:0.0} s on {states[0]}";
                }

                if (clock.Elapsed > timeout)
                {
                    Violation($"check: members did not converge within {timeout.TotalSeconds:0} s: {last}");
                    return null;
                }

                await Task.Delay(200).ConfigureAwait(false);
            }
        }

        /// <summary>Reads the log past what was verified: positions consecutive, stream versions consecutive, no message id twice.</summary>
        private async Task VerifyNewEventsAsync(int member)
        {
            await using var c = await ChaosClient.ConnectAsync(_members[member].ClientPort, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            while (true)
            {
                await c.SendAsync("GETALL", _verifiedLastId, "1000").ConfigureAwait(false);
                var page = await c.ReadAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                if (page.IsError())
                {
                    Violation($"check: GETALL failed: {page.Describe()}");
                    return;
                }

                if (page.Items.Count == 0)
                {
                    return;
                }

                foreach (var item in page.Items)
                {
                    using var doc = JsonDocument.Parse(item.Bytes);
                    var e = doc.RootElement;
                    long position = e.GetProperty("position").GetInt64();
                    string stream = e.GetProperty("stream").GetString()!;
                    long version = e.GetProperty("version").GetInt64();
                    string? messageId = e.TryGetProperty("message_id", out var mid) ? mid.GetString() : null;
                    if (position != _verified)
                    {
                        Violation($"log: position {position} where {_verified} was expected (event {e.GetProperty("id").GetString()})");
                    }

                    long expected = _nextVersion.GetValueOrDefault(stream);
                    if (version != expected)
                    {
                        Violation($"log: stream {stream} version {version} where {expected} was expected");
                    }

                    _nextVersion[stream] = version + 1;
                    if (messageId is not null)
                    {
                        if (!_seen.Add(messageId))
                        {
                            Violation($"log: message id {messageId} stored twice (position {position})");
                        }

                        _unseen.TryRemove(messageId, out _);
                    }

                    _verified = position + 1;
                    _verifiedLastId = e.GetProperty("id").GetString()!;
                }
            }
        }

        /// <summary>The final check: every member's whole log read and hashed; all equal, positions consecutive, no message id twice.</summary>
        private async Task VerifyEveryMemberAsync()
        {
            var digests = new List<string>();
            foreach (var member in _members)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var ids = new HashSet<string>();
                long count = 0;
                string after = "00000000000000000000000000";
                await using var c = await ChaosClient.ConnectAsync(member.ClientPort, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                while (true)
                {
                    await c.SendAsync("GETALL", after, "1000").ConfigureAwait(false);
                    var page = await c.ReadAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                    if (page.IsError() || page.Items.Count == 0)
                    {
                        break;
                    }

                    foreach (var item in page.Items)
                    {
                        hash.AppendData(item.Bytes!);
                        using var doc = JsonDocument.Parse(item.Bytes);
                        var e = doc.RootElement;
                        if (e.GetProperty("position").GetInt64() != count)
                        {
                            Violation($"final: member {member.Index} position {e.GetProperty("position").GetInt64()} where {count} was expected");
                        }

                        if (e.TryGetProperty("message_id", out var mid) && !ids.Add(mid.GetString()!))
                        {
                            Violation($"final: member {member.Index} holds message id {mid.GetString()} twice");
                        }

                        count++;
                        after = e.GetProperty("id").GetString()!;
                    }
                }

                digests.Add($"{count}:{Convert.ToHexString(hash.GetHashAndReset())[..16]}");
            }

            Log($"final: whole logs {string.Join(" | ", digests)}");
            if (digests.Distinct().Count() != 1)
            {
                Violation($"final: the members' logs differ: {string.Join(" | ", digests)}");
            }

            if (!digests[0].StartsWith(_verified.ToString(CultureInfo.InvariantCulture) + ":", StringComparison.Ordinal))
            {
                Violation($"final: {digests[0]} events where {_verified} were verified");
            }
        }

        /// <summary>The member (not <paramref name="except"/>) whose ROLE says master; -1 after the timeout.</summary>
        private async Task<int> FindLeaderAsync(int except, TimeSpan timeout, Stopwatch? clock = null)
        {
            clock ??= Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                var asks = _members.Select(async m =>
                {
                    if (m.Index == except || !m.IsRunning || m.Frozen)
                    {
                        return false;
                    }

                    try
                    {
                        var role = await ChaosClient.CommandAsync(m.ClientPort, Quick, "ROLE").ConfigureAwait(false);
                        return role.Type == RespType.Array && role.Items.Count > 0 && role.Items[0].Text == "master";
                    }
                    catch (Exception e) when (e is IOException or SocketException or TimeoutException)
                    {
                        return false;
                    }
                }).ToArray();
                bool[] masters = await Task.WhenAll(asks).ConfigureAwait(false);
                int found = Array.IndexOf(masters, true);
                if (found >= 0)
                {
                    return found;
                }

                await Task.Delay(25).ConfigureAwait(false);
            }

            return -1;
        }

        private void Acknowledge(IEnumerable<string> ids)
        {
            foreach (string id in ids)
            {
                _unseen[id] = 0;
            }
        }

        private static string AddJson(string stream, IReadOnlyList<string> ids) =>
            JsonSerializer.Serialize(new { stream, version = "any", events = ids.Select(id => new { type = "T", data = new { m = id }, message_id = id }).ToArray() });

        private async Task WriterAsync(int writer)
        {
            var random = new Random((seed * 31) + writer);
            int target = 0;
            for (long k = 0; !_stopWriters.IsCancellationRequested; k++)
            {
                if (_paused)
                {
                    Interlocked.Increment(ref _idle);
                    while (_paused && !_stopWriters.IsCancellationRequested)
                    {
                        await Task.Delay(20).ConfigureAwait(false);
                    }

                    Interlocked.Decrement(ref _idle);
                    if (_stopWriters.IsCancellationRequested)
                    {
                        return;
                    }
                }

                int n = random.Next(10) < 7 ? 1 : random.Next(2, 11);
                string stream = $"chaos-{writer}-{random.Next(20)}";
                string[] ids = [.. Enumerable.Range(0, n).Select(e => $"w{writer}-{k}-{e}")];
                string json = AddJson(stream, ids);
                var attempt = Stopwatch.StartNew();
                while (true)
                {
                    string? leaderHint = null;
                    try
                    {
                        var reply = await ChaosClient.CommandAsync(_members[target].ClientPort, TimeSpan.FromSeconds(15), "ADD", json).ConfigureAwait(false);
                        if (!reply.IsError())
                        {
                            if (reply.Items.Count != n)
                            {
                                Violation($"writer {writer}: ADD of {n} events acknowledged with {reply.Items.Count}: {reply.Describe()}");
                            }

                            Acknowledge(ids);
                            Interlocked.Add(ref _acknowledgedEvents, n);
                            Interlocked.Increment(ref _acknowledgedWrites);
                            if (n > 1)
                            {
                                Interlocked.Increment(ref _batches);
                            }

                            break;
                        }

                        string text = reply.Text ?? "";
                        if (text.StartsWith("WRONGVERSION", StringComparison.Ordinal) || text.StartsWith("ERR", StringComparison.Ordinal) || text.StartsWith("INVALID", StringComparison.Ordinal))
                        {
                            Violation($"writer {writer}: ADD {ids[0]}.. refused with {text}");
                            break;
                        }

                        int at = text.IndexOf("leader=", StringComparison.Ordinal);
                        if (text.StartsWith("READONLY", StringComparison.Ordinal) && at >= 0)
                        {
                            leaderHint = text[(at + 7)..].Trim();
                        }
                    }
                    catch (Exception e) when (e is IOException or SocketException or TimeoutException)
                    {
                        // Unknown outcome: sent again with the same message ids, it is stored once.
                    }

                    if (attempt.Elapsed > TimeSpan.FromSeconds(120))
                    {
                        Interlocked.Increment(ref _unknownOutcomes);
                        Log($"  writer {writer}: gave up on {ids[0]}.. after 120 s (outcome unknown)");
                        break;
                    }

                    int hinted = leaderHint is null ? -1 : Array.FindIndex(_members, m => leaderHint.EndsWith(":" + m.ClientPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
                    if (hinted >= 0 && hinted != target)
                    {
                        target = hinted;
                        continue;
                    }

                    await Task.Delay(100).ConfigureAwait(false);
                    int found = await FindLeaderAsync(-1, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                    target = found >= 0 ? found : random.Next(3);
                }

                await Task.Delay(random.Next(50, 150)).ConfigureAwait(false);
            }
        }

        /// <summary>FOLLOW $all on one member from the start, resumed after the last id on every disconnect: positions must come one by one.</summary>
        private async Task FollowAsync()
        {
            string last = "0";
            while (!_stopReader.IsCancellationRequested)
            {
                try
                {
                    await using var c = await ChaosClient.ConnectAsync(_members[_followMember].ClientPort, TimeSpan.FromSeconds(5), _stopReader.Token).ConfigureAwait(false);
                    await c.SendAsync("FOLLOW", "$all", last).ConfigureAwait(false);
                    var confirm = await c.ReadAsync(TimeSpan.FromSeconds(30), _stopReader.Token).ConfigureAwait(false);
                    if (confirm.IsError())
                    {
                        throw new IOException(confirm.Describe());
                    }

                    while (true)
                    {
                        var frame = await c.ReadAsync(null, _stopReader.Token).ConfigureAwait(false);
                        if (frame.Items.Count < 3 || frame.Items[0].Text != "message")
                        {
                            continue;
                        }

                        using var doc = JsonDocument.Parse(frame.Items[2].Bytes);
                        long position = doc.RootElement.GetProperty("position").GetInt64();
                        long expected = Interlocked.Read(ref _followLast) + 1;
                        if (position != expected && AsyncReplication)
                        {
                            // A deposed async leader delivered writes the cluster did not keep, then installed a copy: the
                            // reader resumes on the kept log (counted, not a violation).
                            Interlocked.Increment(ref _followResyncs);
                            Log($"FOLLOW on member {_followMember}: position {position} delivered where {expected} was expected (async replication: resynchronised)");
                        }
                        else if (position != expected)
                        {
                            Violation($"FOLLOW on member {_followMember}: position {position} delivered where {expected} was expected ({(position < expected ? "repeat" : "gap")})");
                            if (position < expected)
                            {
                                continue;
                            }
                        }

                        Interlocked.Exchange(ref _followLast, position);
                        Interlocked.Increment(ref _followDelivered);
                        last = doc.RootElement.GetProperty("id").GetString()!;
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or TimeoutException or EndOfStreamException or FormatException)
                {
                    Interlocked.Increment(ref _followReconnects);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                try
                {
                    await Task.Delay(500, _stopReader.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private void Violation(string text)
        {
            lock (_violations)
            {
                _violations.Add($"[{_clock.Elapsed:hh\\:mm\\:ss}] {text}");
            }

            Log("VIOLATION: " + text);
        }

        private void Log(string text) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} [{_clock.Elapsed:hh\\:mm\\:ss}] {text}");

        private static int FreePort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }
    }

    /// <summary>Waits out what is left of a fault's hold time, counted from the fault's start.</summary>
    private static async Task HoldRestAsync(TimeSpan hold, Stopwatch fault)
    {
        var left = hold - fault.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left).ConfigureAwait(false);
        }
    }
}
