using System.Diagnostics;
using EventflowDb.Protocol;
using EventflowDb.Testing;
using EventflowDb.Tests.Harness;
using Xunit;

namespace EventflowDb.Tests.Cluster;

/// <summary>Cluster tests start several server processes each: they run alone, not beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Cluster";
}

/// <summary>Three real server processes on loopback ports forming one Raft cluster, each with its own temp data directory.</summary>
public sealed class TestCluster : IAsyncDisposable
{
    private TestCluster(IReadOnlyList<ServerProcess> members, IReadOnlyList<int> peerPorts)
    {
        Members = members;
        PeerPorts = peerPorts;
    }

    public IReadOnlyList<ServerProcess> Members { get; }

    public IReadOnlyList<int> PeerPorts { get; }

    /// <summary>The proxy in front of every member's peer port (<see cref="StartBehindProxyAsync"/>); null otherwise.</summary>
    public PartitionProxy? Proxy { get; private init; }

    /// <summary>Every member's output, for failure messages.</summary>
    public string Output => string.Join("\n", Members.Select((m, i) => $"===== member {i} (port {m.Port}) =====\n{m.Output}"));

    public static Task<TestCluster> StartAsync(int size = 3, params string[] extraArgs) =>
        StartAsync(new string?[size], http: false, extraArgs);

    /// <summary>As above; with <paramref name="http"/> each member also listens on its own HTTP port.</summary>
    public static Task<TestCluster> StartAsync(int size, bool http, params string[] extraArgs) =>
        StartAsync(new string?[size], http, extraArgs);

    /// <summary>Starts one member per entry: on that data directory (kept afterwards), or on a fresh temp one for null.</summary>
    public static Task<TestCluster> StartAsync(IReadOnlyList<string?> dataDirectories, params string[] extraArgs) =>
        StartAsync(dataDirectories, http: false, extraArgs);

    /// <summary>One member per entry of <paramref name="memberArgs"/>, each with those arguments after the shared ones.</summary>
    public static Task<TestCluster> StartAsync(IReadOnlyList<string[]> memberArgs, params string[] extraArgs) =>
        StartAsync(new string?[memberArgs.Count], http: false, extraArgs, memberArgs);

    /// <summary>Members with <c>--password</c> (the helpers here that send unauthenticated commands do not work on them).</summary>
    public static Task<TestCluster> StartWithPasswordAsync(string password, int size = 3) =>
        StartAsync(new string?[size], http: false, [], password: password);

    /// <summary>Members that also listen on a TLS port with <paramref name="tls"/>'s server certificate and CA.</summary>
    public static Task<TestCluster> StartWithTlsAsync(TestCertificates tls, int size = 3, params string[] extraArgs) =>
        StartAsync(new string?[size], http: false, extraArgs, tls: tls);

    private static async Task<TestCluster> StartAsync(IReadOnlyList<string?> dataDirectories, bool http, string[] extraArgs, IReadOnlyList<string[]>? memberArgs = null, string? password = null, TestCertificates? tls = null)
    {
        var peerPorts = dataDirectories.Select(_ => ServerProcess.FreePort()).ToArray();
        string list = string.Join(",", peerPorts.Select(p => $"127.0.0.1:{p}"));
        var starts = peerPorts.Select((p, i) => ServerProcess.StartAsync(new ServerSettings
        {
            DataDirectory = dataDirectories[i],
            Http = http,
            Password = password,
            Tls = tls,
            ExtraArgs = ["--cluster-port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cluster-members", list, .. extraArgs, .. memberArgs?[i] ?? []],
        })).ToArray();
        var members = await Task.WhenAll(starts);
        foreach (var member in members)
        {
            member.KeepDataDirectory = false;
        }

        return new TestCluster(members, peerPorts);
    }

    /// <summary>
    /// Three members whose peer identities (<c>--cluster-members</c>) are ports of a <see cref="PartitionProxy"/>, each
    /// listening on another port (<c>--cluster-listen</c>) behind it, so links between members can be cut.
    /// </summary>
    public static async Task<TestCluster> StartBehindProxyAsync(int size = 3, params string[] extraArgs)
    {
        static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var front = Enumerable.Range(0, size).Select(_ => ServerProcess.FreePort()).ToArray();
        var back = Enumerable.Range(0, size).Select(_ => ServerProcess.FreePort()).ToArray();
        // Cut links drop their bytes, as a lost route does (with resets instead, elections took 3-5 s or more).
        var proxy = new PartitionProxy(front, back) { Drop = true };
        string list = string.Join(",", front.Select(p => $"127.0.0.1:{Text(p)}"));
        try
        {
            var starts = Enumerable.Range(0, size).Select(i => ServerProcess.StartAsync(new ServerSettings
            {
                ExtraArgs = ["--cluster-port", Text(front[i]), "--cluster-listen", Text(back[i]), "--cluster-members", list, .. extraArgs],
            })).ToArray();
            var members = await Task.WhenAll(starts);
            for (int i = 0; i < members.Length; i++)
            {
                members[i].KeepDataDirectory = false;
                proxy.SetProcess(i, members[i].ProcessId);
            }

            return new TestCluster(members, front) { Proxy = proxy };
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// GROUP CREATE through <see cref="WriteAsync"/>: when a failover made it resend the command, the first attempt may have
    /// been committed, and the resent one then finds the group ("already exists"). Either way the group exists once.
    /// </summary>
    public async Task CreateGroupAsync(params string[] args)
    {
        var reply = await WriteAsync(["GROUP", "CREATE", .. args]);
        if (reply.IsError())
        {
            Assert.Contains("already exists", reply.Text ?? "", StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("OK", reply.Str());
        }
    }

    /// <summary>Sends one command to a member on a fresh connection.</summary>
    public static async Task<RespValue> CommandAsync(ServerProcess member, params string[] args)
    {
        await using var c = await RespConnection.OpenAsync(member.Port, TimeSpan.FromSeconds(10));
        return await c.CommandAsync(args);
    }

    /// <summary>Sends a signal (STOP, CONT, …) to a member's process with kill(1).</summary>
    public static void Signal(string signal, int processId)
    {
        using var kill = Process.Start("kill", [$"-{signal}", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The index of the member whose ROLE says master, polled among the running members until the deadline.</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan timeout, int? except = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            for (int i = 0; i < Members.Count; i++)
            {
                if (i == except || !Members[i].IsRunning)
                {
                    continue;
                }

                try
                {
                    var role = await CommandAsync(Members[i], "ROLE");
                    if (role.Arr()[0].Str() == "master")
                    {
                        // A leader that can write: INFO cluster says leader once it is ready.
                        return i;
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
                {
                }
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"no leader within {timeout}\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends a write to the leader, finding it again after READONLY or TRYAGAIN (an election on a loaded machine).</summary>
    public async Task<RespValue> WriteAsync(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int leader = await WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var reply = await CommandAsync(Members[leader], args);
            bool redirect = reply.Type is RespType.Error && (reply.Text ?? "").Split(' ')[0] is "READONLY" or "TRYAGAIN";
            if (!redirect || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                return reply;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Polls the leader's INFO until it holds <paramref name="line"/>.</summary>
    public async Task WaitUntilLeaderReportsAsync(string line, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int leader = await WaitForLeaderAsync(timeout);
            string info = (await CommandAsync(Members[leader], "INFO", "replication", "cluster")).Text ?? "";
            if (info.Contains(line, StringComparison.Ordinal))
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the leader's INFO never said {line}:\n{info}\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Polls until every running member (or those given) reports the same CHECKSUM and event count as <paramref name="reference"/>.</summary>
    public async Task WaitForConvergenceAsync(TimeSpan timeout, IEnumerable<int>? which = null)
    {
        var indices = (which ?? Enumerable.Range(0, Members.Count)).Where(i => Members[i].IsRunning).ToList();
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            var states = new List<string>();
            foreach (int i in indices)
            {
                try
                {
                    var sum = await CommandAsync(Members[i], "CHECKSUM");
                    var count = await CommandAsync(Members[i], "EVENTCOUNT");
                    states.Add($"{sum.Arr()[0].Str()}/{sum.Arr()[1].Str()}/{count.Int()}");
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
                {
                    states.Add("unreachable");
                }
            }

            last = string.Join(" | ", states);
            if (states.Distinct().Count() == 1 && states[0] != "unreachable")
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"members did not converge within {timeout}: {last}\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Every event in log order as raw JSON (GETALL pages).</summary>
    public static async Task<List<string>> AllEventsAsync(ServerProcess member)
    {
        var all = new List<string>();
        string after = "00000000000000000000000000";
        await using var c = await RespConnection.OpenAsync(member.Port, TimeSpan.FromSeconds(10));
        while (true)
        {
            var page = (await c.CommandAsync("GETALL", after, "1000")).Arr();
            if (page.Count == 0)
            {
                return all;
            }

            foreach (var e in page)
            {
                all.Add(e.Str());
            }

            using var last = System.Text.Json.JsonDocument.Parse(all[^1]);
            after = last.RootElement.GetProperty("id").GetString()!;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await member.DisposeAsync();
        }

        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }
    }
}
