using System.Net;
using System.Net.Sockets;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using EventflowDb.Server.Configuration;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>One member's view of a member, for ROLE and INFO.</summary>
/// <remarks><see cref="DurableIndex"/> is known for this member only; <see cref="Progress"/> only on the leader, for the others.</remarks>
internal sealed record ClusterMemberInfo(string PeerAddress, string? ClientAddress, bool IsSelf, bool IsLeader, string Status, long? DurableIndex, MemberProgress? Progress);

/// <summary>
/// This member of the Raft cluster (DotNext.Net.Cluster over TCP): the write-ahead log in <c>&lt;data&gt;/raft/wal</c>,
/// the <see cref="StoreStateMachine"/> that applies it to the store, leader tracking and proposals. The network layer
/// sees it only through <see cref="ReplicatedEventStore"/> and the plain records above.
/// </summary>
internal sealed partial class ClusterNode : IAsyncDisposable
{
    private const string AnnounceKey = "announce";

    private readonly ServerOptions _options;
    private readonly Serilog.ILogger _logger;
    private readonly RaftCluster _cluster;
    private readonly WriteAheadLog _wal;
    private readonly StoreStateMachine _machine;
    private readonly SemaphoreSlim _proposeLock = new(1, 1);
    private readonly Dictionary<EndPoint, string> _announces = [];
    private readonly HashSet<EndPoint> _learning = [];
    private readonly IPEndPoint _self;
    private readonly CancellationTokenSource _stopping = new();
    private Task<Leadership?> _becoming = Task.FromResult<Leadership?>(null);
    private Leadership? _leadership;
    private Task _leadershipLoop = Task.CompletedTask;
    private Task _stepAside = Task.CompletedTask;
    private Task _progressLoop = Task.CompletedTask;
    private readonly ReplicationProgress _progress = new();

    /// <summary>
    /// One term of this member's leadership, ready for writes: the term, the token Raft cancels when it ends and the
    /// stamp generator of that term. Published and cleared as one object, so a proposal never pairs one term's token
    /// with another term's stamps or term number.
    /// </summary>
    private sealed record Leadership(long Term, UlidGenerator Stamps, CancellationToken Token);

    /// <summary>The highest term this member has seen (persisted in the WAL); may run ahead of its leadership's term.</summary>
    private long WalTerm => ((IPersistentState)_wal).Term;

    private ClusterNode(ServerOptions options, Serilog.ILogger logger, RaftCluster cluster, WriteAheadLog wal, StoreStateMachine machine, IPEndPoint self)
    {
        _options = options;
        _logger = logger;
        _cluster = cluster;
        _wal = wal;
        _machine = machine;
        _self = self;
        _cluster.LeaderChanged += OnLeaderChanged;
    }

    /// <summary>The consumer groups, replicated through this member's Raft log (Cluster/ReplicatedGroups.cs).</summary>
    public ReplicatedGroups Groups => _machine.Groups!;

    /// <summary>The announce (client) address of this member.</summary>
    public string Announce => _options.EffectiveAnnounce;

    public bool IsLeader => !_cluster.LeadershipToken.IsCancellationRequested && _cluster.Leader is { IsRemote: false };

    public long Term => _cluster.Term;

    public long CommitIndex => _wal.LastCommittedEntryIndex;

    public long LastIndex => _wal.LastEntryIndex;

    public long AppliedIndex => _machine.LastApplied;

    /// <summary>
    /// The Raft index through which this member's store holds every committed entry durably. Entries without payload (a
    /// new leader's no-op) never reach the store, so once every entry handed to it is durable, DotNext's applied index
    /// counts too (a copy of the store then covers those no-ops). Never reported lower than before.
    /// </summary>
    public long DurableIndex
    {
        get
        {
            // DotNext's applied index first: every entry with payload through it was handed to the store before.
            long applied = _wal.LastAppliedIndex;
            long durable = _machine.DurableIndex;
            long holds = _machine.AheadEntries > 0
                ? Math.Min(durable, _machine.LastApplied) // an async leader's store runs ahead of the commit: committed only
                : durable >= _machine.LastApplied && _machine.Failure is null && !_machine.InstallRequested.IsCompleted
                    ? Math.Max(durable, applied)
                    : durable;
            long seen = Volatile.Read(ref _durableSeen);
            while (holds > seen)
            {
                long was = Interlocked.CompareExchange(ref _durableSeen, holds, seen);
                if (was == seen)
                {
                    return holds;
                }

                seen = was;
            }

            return seen;
        }
    }

    private long _durableSeen;

    /// <summary>
    /// Before the service restarts to install a copy: the pending install names the members' client addresses known by
    /// now (waiting up to 10 s to learn one), since a divergence found while the log was replayed at start knew none.
    /// </summary>
    public async Task CompleteInstallSourcesAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (KnownSources().Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(200).ConfigureAwait(false);
        }

        _machine.AddInstallSources(KnownSources());
    }

    /// <summary>Entries this member applied ahead of the majority (async leader) and not yet found committed.</summary>
    public int AheadEntries => _machine.AheadEntries;

    /// <summary>The highest index this member ever applied ahead of the majority (changes when it applies one).</summary>
    public long AheadHighestIndex => _machine.AheadHighestIndex;

    public bool AsyncReplication => _options.AsyncReplication;

    /// <summary>The leader's client address, when a leader is known and its address was learned.</summary>
    public string? LeaderAnnounce
    {
        get
        {
            var leader = _cluster.Leader;
            if (leader is null)
            {
                return null;
            }

            if (!leader.IsRemote)
            {
                return Announce;
            }

            lock (_announces)
            {
                return _announces.TryGetValue(leader.EndPoint, out var a) ? a : null;
            }
        }
    }

    /// <summary>Completes when this member must install a copy of a store (the leader's log starts after its own): the service restarts.</summary>
    public Task InstallRequested => _machine.InstallRequested;

    /// <summary>The index through which this member's Raft log is compacted (0: not compacted).</summary>
    public long SnapshotIndex => _machine.SnapshotIndex;

    private long _compactionHeldUntil;

    /// <summary>
    /// Keeps this member's Raft log from being compacted for <paramref name="period"/> from now (SEED: the member copying
    /// this store needs the entries after the copy once it installed it).
    /// </summary>
    public void HoldCompaction(TimeSpan period)
    {
        long until = Environment.TickCount64 + (long)period.TotalMilliseconds;
        long current;
        do
        {
            current = Volatile.Read(ref _compactionHeldUntil);
        }
        while (current < until && Interlocked.CompareExchange(ref _compactionHeldUntil, until, current) != current);
    }

    /// <summary>
    /// Client addresses of the members known here: this member's first (a snapshot it takes is sent by it as the leader,
    /// and the member that receives it copies from the leader first: the one that keeps its log for it), then the
    /// leader's, then the others.
    /// </summary>
    private List<string> KnownSources()
    {
        var sources = new List<string> { Announce };
        if (LeaderAnnounce is { } leader && !sources.Contains(leader))
        {
            sources.Add(leader);
        }

        lock (_announces)
        {
            sources.AddRange(_announces.Values.Where(a => !sources.Contains(a)));
        }

        return sources;
    }

    /// <summary>Opens the WAL over the store (replaying committed entries it lacks) and joins the cluster.</summary>
    public static async Task<ClusterNode> StartAsync(ServerOptions options, IEventStore store, Network.Tls.TlsCertificates tls, Serilog.ILogger logger, CancellationToken token)
    {
        var members = new List<IPEndPoint>();
        foreach (string member in options.ClusterMembers)
        {
            var (host, port) = OptionsParser.ParseHostPort(member, "cluster-members");
            members.Add(new IPEndPoint(await ResolveAsync(host, logger, token).ConfigureAwait(false), port));
        }

        // This member: the one on --cluster-port whose address is on this machine (in containers every member may use
        // the same port, on different hosts).
        var local = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
            .ToHashSet();
        var candidates = members.Where(m => m.Port == options.ClusterPort).ToList();
        var self = candidates.Find(m => IPAddress.IsLoopback(m.Address) || local.Contains(m.Address) || m.Address.Equals(options.Bind))
            ?? (candidates.Count == 1 ? candidates[0] : throw new IOException($"none of the members on port {options.ClusterPort} has an address of this machine; check --cluster-members"));
        var listen = new IPEndPoint(options.EffectiveBind.Equals(IPAddress.Any) || IPAddress.IsLoopback(self.Address) ? self.Address : options.EffectiveBind, options.EffectiveClusterListenPort);
        if (!IPAddress.IsLoopback(self.Address))
        {
            listen = new IPEndPoint(IPAddress.Any, options.EffectiveClusterListenPort);
        }

        var configuration = new RaftCluster.TcpConfiguration(listen)
        {
            ConfigurationStorage = null,
            LowerElectionTimeout = 250,
            UpperElectionTimeout = 500,
            RequestTimeout = TimeSpan.FromMilliseconds(200),
            // A TLS handshake (two chain checks) on a busy host needs more than a bare connect.
            ConnectTimeout = TimeSpan.FromMilliseconds(options.Tls.Cluster ? 500 : 200),
            ColdStart = false,
            PublicEndPoint = self,
            SslOptions = options.Tls.Cluster ? PeerTls.Create(tls, logger) : null,
        };
        configuration.Metadata[AnnounceKey] = options.EffectiveAnnounce;
        var builder = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage!).CreateInitialConfigurationBuilder();
        foreach (var member in members)
        {
            builder.Add(member);
        }

        builder.Build();

        string raftDirectory = Path.Combine(options.DataDirectory, "raft");
        Directory.CreateDirectory(raftDirectory);
        var groups = new ReplicatedGroups(store, options.DataDirectory, logger);
        StoreStateMachine machine;
        try
        {
            StoreStateMachine.CheckGroupsHeld(raftDirectory, groups.Registry.LastRaftIndex);
            machine = new StoreStateMachine(store, raftDirectory, options.ClusterSnapshotEntries, logger) { Groups = groups };
        }
        catch (SnapshotInstallRequiredException)
        {
            groups.Registry.Dispose();
            throw;
        }

        var wal = new WriteAheadLog(
            new WriteAheadLog.Options { Location = Path.Combine(raftDirectory, "wal"), ChunkSize = 1 << 20 },
            machine);
        var cluster = new RaftCluster(configuration) { AuditTrail = wal };
        var node = new ClusterNode(options, logger, cluster, wal, machine, self);
        machine.Groups.Node = node;
        machine.Sources = node.KnownSources;
        machine.CompactionHeld = () => Environment.TickCount64 < Volatile.Read(ref node._compactionHeldUntil);
        await cluster.StartAsync(token).ConfigureAwait(false);
        foreach (var member in cluster.Members.Where(m => m.IsRemote))
        {
            // Their client addresses go into snapshots: where a member that needs a store copies one from.
            node.StartLearningAnnounce(member);
        }

        node._leadershipLoop = Task.Run(node.FollowLeadershipAsync, CancellationToken.None);
        node._stepAside = Task.Run(node.StepAsideOnFailureAsync, CancellationToken.None);
        node._proposalLoop = Task.Run(node.ProposeBatchesAsync, CancellationToken.None);
        if (options.AsyncReplication)
        {
            node._replicationPump = Task.Run(node.PumpReplicationAsync, CancellationToken.None);
        }

        node._aheadCheck = Task.Run(node.CheckAheadAsync, CancellationToken.None);

        node._progressLoop = Task.Run(() => node._progress.RunAsync(cluster, () => node.IsLeader, () => wal.LastEntryIndex, node._stopping.Token), CancellationToken.None);
        logger.Information(
            "Cluster member {Self} of {Members} (peer port {ClusterPort}{PeerTls}, client address {Announce}, replication {Replication}); Raft log through index {LastIndex}, committed {CommitIndex}",
            self, string.Join(",", members), options.ClusterPort, options.Tls.Cluster ? " with TLS" : "", options.EffectiveAnnounce, options.AsyncReplication ? "async" : "sync", wal.LastEntryIndex, wal.LastCommittedEntryIndex);
        return node;
    }

    private static async Task<IPAddress> ResolveAsync(string host, Serilog.ILogger logger, CancellationToken token)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return ip;
        }

        // In containers a peer's name resolves only once it runs: retry for a while.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var addresses = await Dns.GetHostAddressesAsync(host, token).ConfigureAwait(false);
                var v4 = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork);
                if (v4 is not null || addresses.Length > 0)
                {
                    return v4 ?? addresses[0];
                }
            }
            catch (SocketException) when (attempt < 60)
            {
                if (attempt == 0)
                {
                    logger.Information("Cluster member {Host} does not resolve yet; retrying", host);
                }
            }

            await Task.Delay(1000, token).ConfigureAwait(false);
        }
    }

    private void OnLeaderChanged(ICluster sender, IClusterMember? leader)
    {
        if (leader is null)
        {
            _logger.Information("Cluster: no leader (election running), term {Term}", _cluster.Term);
            return;
        }

        if (!leader.IsRemote)
        {
            _logger.Information("Cluster: this member {Self} is the leader, term {Term}", _self, _cluster.Term);
            return;
        }

        _logger.Information("Cluster: leader is {Leader}, term {Term}", leader.EndPoint, _cluster.Term);
        StartLearningAnnounce(leader);
    }

    /// <summary>Starts learning a member's client address unless it is known or already being learned.</summary>
    private void StartLearningAnnounce(IClusterMember member)
    {
        lock (_announces)
        {
            if (_announces.ContainsKey(member.EndPoint) || !_learning.Add(member.EndPoint))
            {
                return;
            }
        }

        _ = LearnAnnounceAsync(member);
    }

    private async Task LearnAnnounceAsync(IClusterMember member)
    {
        try
        {
            await LearnAnnounceLoopAsync(member).ConfigureAwait(false);
        }
        finally
        {
            lock (_announces)
            {
                _learning.Remove(member.EndPoint);
            }
        }
    }

    private async Task LearnAnnounceLoopAsync(IClusterMember member)
    {
        // Taken once: the source may be disposed while this runs on (the service restarts to install a store copy).
        var stopping = _stopping.Token;
        for (int attempt = 0; attempt < 20 && !stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                var metadata = await member.GetMetadataAsync(refresh: attempt > 0, CancellationToken.None).ConfigureAwait(false);
                if (metadata.TryGetValue(AnnounceKey, out var announce))
                {
                    lock (_announces)
                    {
                        _announces[member.EndPoint] = announce;
                    }

                    return;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.Debug(e, "Cluster: cannot read the metadata of {Member} yet", member.EndPoint);
            }

            try
            {
                await Task.Delay(100, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Each time this member becomes the leader, prepares it for writes; runs until the member stops.</summary>
    private async Task FollowLeadershipAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            CancellationToken leadership;
            try
            {
                leadership = await _cluster.WaitForLeadershipAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _progress.LeadershipStarted();
            var becoming = BecomeWritableAsync(leadership);
            _becoming = becoming;
            var ready = await becoming.ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, leadership).WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await _proposeLock.WaitAsync().ConfigureAwait(false);
            Interlocked.CompareExchange(ref _leadership, null, ready);
            _proposeLock.Release();
            if (!_stopping.IsCancellationRequested)
            {
                _logger.Information("Cluster: this member is no longer the leader");
            }
        }
    }

    /// <summary>
    /// A new leader first waits until every entry of earlier terms is applied here, then stamps above the highest mark
    /// seen, so marks and event ids keep increasing along the log.
    /// </summary>
    private async Task<Leadership?> BecomeWritableAsync(CancellationToken leadership)
    {
        string? unable = _machine.Failure ?? (_machine.InstallRequested.IsCompleted ? "its store is about to be replaced by a copy" : null);
        if (unable is { } failure)
        {
            _logger.Warning("Cluster: elected, but this member cannot apply writes ({Failure}); handing leadership over", failure);
            return null;
        }

        try
        {
            using var stoppingOrLost = CancellationTokenSource.CreateLinkedTokenSource(leadership, _stopping.Token);
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    await _cluster.ApplyReadBarrierAsync(stoppingOrLost.Token).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (e is OperationCanceledException or QuorumUnreachableException && !leadership.IsCancellationRequested && attempt < 50)
                {
                    _logger.Debug("Cluster: read barrier of the new leader failed ({Error}); retrying", e.Message);
                    await Task.Delay(20, leadership).ConfigureAwait(false);
                }
            }

            Leadership ready;
            await _proposeLock.WaitAsync(leadership).ConfigureAwait(false);
            try
            {
                long term = await LeadershipTermAsync(leadership).ConfigureAwait(false);
                ready = new Leadership(term, new UlidGenerator(UlidCodec.FromUlid(_machine.LastMark)), leadership);
                Volatile.Write(ref _leadership, ready);
            }
            finally
            {
                _proposeLock.Release();
            }

            _logger.Information("Cluster: leader ready for writes at index {Index}, term {Term}", _wal.LastCommittedEntryIndex, _cluster.Term);
            return ready;
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or QuorumUnreachableException)
        {
            _logger.Information("Cluster: leadership lost before writes could start ({Error})", e.Message);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (a WAL failure reading the last entry): this term takes no writes, the next one tries again.
            _logger.Warning(e, "Cluster: elected, but could not prepare for writes; this term takes none");
            return null;
        }
    }

    /// <summary>
    /// The term this member leads in. Not <see cref="WalTerm"/> read now: DotNext raises the WAL's term when it meets a higher
    /// one and only then ends the leader state, so for a few milliseconds an old leader still holds a live leadership
    /// token while its WAL already names the next leader's term. An entry appended then with the WAL's term would carry
    /// the next leader's term at an index where that leader has a different entry, pass Raft's log-matching check and be
    /// committed here: a store that differs from the others' (found by the chaos run, docs/chaos.md). The exact term
    /// is the one of the no-op entry DotNext appends on winning an election, which is the log's last entry until this
    /// member proposes; a single-member cluster never changes term.
    /// </summary>
    private async Task<long> LeadershipTermAsync(CancellationToken leadership)
    {
        long term;
        if (_cluster.Members.Count <= 1)
        {
            term = WalTerm;
        }
        else
        {
            long tail = _wal.LastEntryIndex;
            using var reader = await _wal.ReadAsync(tail, tail, leadership).ConfigureAwait(false);
            term = -1;
            foreach (var entry in reader)
            {
                term = entry.Term;
            }
        }

        leadership.ThrowIfCancellationRequested();
        if (term != WalTerm)
        {
            throw new InvalidOperationException($"the log's last entry has term {term}, the member's term is {WalTerm}: a newer leader exists");
        }

        return term;
    }

    /// <summary>
    /// When this member's store fails, it gives up leadership and turns standby (it keeps its Raft log and votes, so the
    /// others keep their majority, but never runs for leader): a leader that cannot apply would take no write.
    /// </summary>
    private async Task StepAsideOnFailureAsync()
    {
        try
        {
            // A failed store, or a store about to be replaced by a copy (until the service restarts): no leadership.
            await Task.WhenAny(_machine.Failed, _machine.InstallRequested).WaitAsync(_stopping.Token).ConfigureAwait(false);
            while (!_cluster.Standby)
            {
                try
                {
                    // Also from the leader's state: it stops sending heartbeats, and the others elect a new leader.
                    await _cluster.EnableStandbyModeAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.Debug(e, "Cluster: turning standby failed; retrying");
                }

                if (!_cluster.Standby)
                {
                    await Task.Delay(200, _stopping.Token).ConfigureAwait(false);
                }
            }

            _logger.Warning(
                "Cluster: this member is standby now (it will not lead) because {Reason}",
                _machine.Failed.IsCompleted ? "its store failed" : "its store is about to be replaced by a copy");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Returns once this member is the leader ready for writes; throws a write's refusal otherwise.</summary>
    public Task EnsureLeaderAsync(CancellationToken token) => EnsureWritableAsync(token);

    /// <summary>Returns this member's leadership ready for writes, or throws the reply a write gets when it cannot take it.</summary>
    private async Task<Leadership> EnsureWritableAsync(CancellationToken token)
    {
        for (int attempt = 0; ; attempt++)
        {
            var leader = _cluster.Leader;
            if (_machine.Failure is { } failure)
            {
                if (leader is { IsRemote: true } && LeaderAnnounce is { } other)
                {
                    throw ClusterUnavailableException.Follower(other);
                }
            }
            else if (leader is { IsRemote: false } && !_cluster.LeadershipToken.IsCancellationRequested)
            {
                var ready = Volatile.Read(ref _leadership);
                if (ready is null)
                {
                    ready = await _becoming.WaitAsync(TimeSpan.FromSeconds(5), token).ConfigureAwait(false);
                }

                if (ready is not null && !ready.Token.IsCancellationRequested)
                {
                    return ready;
                }
            }
            else if (leader is not null)
            {
                if (LeaderAnnounce is { } announce)
                {
                    throw ClusterUnavailableException.Follower(announce);
                }
            }

            if (attempt >= 10)
            {
                throw _machine.Failure is { } reason ? ClusterUnavailableException.NoLeader($"this member cannot apply writes ({reason})")
                    : leader is null ? ClusterUnavailableException.NoLeader("an election is running or no majority is reachable")
                    : ClusterUnavailableException.NoLeader("the leader's client address is not known yet");
            }

            await Task.Delay(50, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every member with its status; the Raft index its store holds durably only for this member (the others' come from
    /// their own INFO cluster); on the leader, how far each other member's log matches its own.
    /// </summary>
    public IReadOnlyList<ClusterMemberInfo> Members()
    {
        var list = new List<ClusterMemberInfo>();
        foreach (var member in _cluster.Members)
        {
            string? announce;
            if (!member.IsRemote)
            {
                announce = Announce;
            }
            else
            {
                lock (_announces)
                {
                    _announces.TryGetValue(member.EndPoint, out announce);
                }

                if (announce is null)
                {
                    StartLearningAnnounce(member);
                }
            }

            long? durable = member.IsRemote ? null : DurableIndex;
            var progress = member.IsRemote && IsLeader ? _progress.Of(member, _wal.LastEntryIndex) : null;
            list.Add(new ClusterMemberInfo(member.EndPoint.ToString() ?? "", announce, !member.IsRemote, member.IsLeader, member.Status.ToString().ToLowerInvariant(), durable, progress));
        }

        return list;
    }

    public async ValueTask DisposeAsync()
    {
        _cluster.LeaderChanged -= OnLeaderChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _leadershipLoop.ConfigureAwait(false);
        await _stepAside.ConfigureAwait(false);
        await _progressLoop.ConfigureAwait(false);
        _proposals.Writer.TryComplete();
        await _proposalLoop.ConfigureAwait(false);
        await _replicationPump.ConfigureAwait(false);
        await _aheadCheck.ConfigureAwait(false);
        try
        {
            await _cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.Debug(e, "Cluster: stop failed");
        }

        await _wal.DisposeAsync().ConfigureAwait(false);
        _cluster.Dispose();
        await _machine.CompleteAsync().ConfigureAwait(false);
        _machine.Dispose();
        _proposeLock.Dispose();
        _stopping.Dispose();
        _logger.Information("Cluster member stopped; store durable through Raft index {Index}", _machine.DurableIndex);
    }
}
