using System.Net;

namespace EventflowDb.Server.Configuration;

/// <summary>
/// All server settings, resolved from flags, environment variables and defaults. The initial values here are
/// the defaults, declared once: <see cref="OptionsParser"/> shows and parses them from a default instance.
/// </summary>
internal sealed class ServerOptions
{
    public int Port { get; init; } = 6543;

    public string DataDirectory { get; init; } = "./data";

    /// <summary>The password of the user <c>default</c> (<c>--password</c> or <c>--password-file</c>); null: none.</summary>
    public string? Password { get; init; }

    /// <summary>The file of users (<c>--aclfile</c>); null: only the built-in <c>default</c> user.</summary>
    public string? AclFile { get; init; }

    /// <summary>Address to listen on; null means the default for the password setting.</summary>
    public IPAddress? Bind { get; init; }

    /// <summary>When true (default), a server without a password listens on loopback only.</summary>
    public bool ProtectedMode { get; init; } = true;

    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time between background compactions (0: none; COMPACT still runs one).</summary>
    public TimeSpan CompactionInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Null: acknowledge an ADD once it is fsynced. Set: acknowledge at once, fsync at least this often.</summary>
    public TimeSpan? FlushInterval { get; init; }

    /// <summary>Write the log with direct synchronous I/O where the file system allows it.</summary>
    public bool DirectIo { get; init; } = true;

    /// <summary>Start on a damaged store: copy the damaged files aside and cut the log at the damage (<c>--repair</c>).</summary>
    public bool Repair { get; init; }

    public int DefaultPage { get; init; } = 1000;

    public int MaxPage { get; init; } = 10_000;

    /// <summary>A GET/GETALL/GROUP READ page stops once its events pass this many bytes (it always holds one event).</summary>
    public long MaxPageBytes { get; init; } = 16L * 1024 * 1024;

    public int MaxBulkBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Connections beyond this many get <c>-ERR max number of clients reached</c> and are closed.</summary>
    public int MaxClients { get; init; } = 10_000;

    /// <summary>An idle connection (no request, not subscribed, not blocked) is closed after this; zero: never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>TCP keepalive probe interval; zero turns keepalive off.</summary>
    public TimeSpan TcpKeepAlive { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Output bound of ordinary connections (<c>client-output-buffer-limit normal</c>).</summary>
    public OutputBufferLimit NormalOutputLimit { get; init; } = new(256L * 1024 * 1024, 64L * 1024 * 1024, 60);

    /// <summary>Output bound of connections with push subscriptions (<c>client-output-buffer-limit pubsub</c>).</summary>
    public OutputBufferLimit PubSubOutputLimit { get; init; } = new(32L * 1024 * 1024, 8L * 1024 * 1024, 60);

    /// <summary>Port of the HTTP endpoint (/health, /metrics); zero: none.</summary>
    public int HttpPort { get; init; } = 6544;

    /// <summary>Initial SLOWLOG threshold in microseconds (negative: off); CONFIG SET changes the live value.</summary>
    public long SlowlogLogSlowerThan { get; init; } = 10_000;

    /// <summary>Initial SLOWLOG capacity; CONFIG SET changes the live value.</summary>
    public int SlowlogMaxLen { get; init; } = 128;

    /// <summary>Log as JSON lines (Serilog compact JSON) instead of text (<c>--log-format json</c>).</summary>
    public bool JsonLogs { get; init; }

    public Serilog.Events.LogEventLevel LogLevel { get; init; } = Serilog.Events.LogEventLevel.Information;

    /// <summary>The TLS listener and its files; replaced as a whole when CONFIG SET loads new files.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>The Raft peer port (<c>--cluster-port</c>); 0: standalone.</summary>
    public int ClusterPort { get; init; }

    /// <summary>The port the Raft listener really binds (<c>--cluster-listen</c>), when a proxy or NAT stands in front of <see cref="ClusterPort"/>; 0: <see cref="ClusterPort"/>.</summary>
    public int ClusterListenPort { get; init; }

    /// <summary>The port the Raft listener binds: <see cref="ClusterListenPort"/>, else <see cref="ClusterPort"/>.</summary>
    public int EffectiveClusterListenPort => ClusterListenPort != 0 ? ClusterListenPort : ClusterPort;

    /// <summary>Every member's peer address, this one included (<c>--cluster-members</c>); empty: standalone.</summary>
    public IReadOnlyList<string> ClusterMembers { get; init; } = [];

    /// <summary>The client address other members give out for this one (<c>--announce</c>); null: 127.0.0.1:<see cref="Port"/>.</summary>
    public string? Announce { get; init; }

    /// <summary>--replication async: a write is acknowledged once the leader holds it, not a majority.</summary>
    public bool AsyncReplication { get; init; }

    /// <summary>Raft entries a member keeps before compacting its log (<c>--cluster-snapshot-entries</c>); it keeps the newest half.</summary>
    public int ClusterSnapshotEntries { get; init; } = 50_000;

    /// <summary>The user a member authenticates as on another member's client port to copy its store (<c>--masteruser</c>); null: default.</summary>
    public string? MasterUser { get; init; }

    /// <summary>The password for <see cref="MasterUser"/> (<c>--masterauth</c>, else <c>--password</c>); null: no AUTH.</summary>
    public string? MasterAuth { get; init; }

    /// <summary>True when the server runs as a member of a cluster.</summary>
    public bool Clustered => ClusterMembers.Count > 0;

    /// <summary>The client address given out for this member.</summary>
    public string EffectiveAnnounce => Announce ?? $"127.0.0.1:{Port}";

    /// <summary>The address actually bound: loopback without a password or users, any with them, unless set.</summary>
    public IPAddress EffectiveBind => Bind ?? (Password is null && AclFile is null ? IPAddress.Loopback : IPAddress.Any);

    /// <summary>The <c>client-output-buffer-limit</c> value in Redis's CONFIG GET form.</summary>
    public string OutputBufferLimitText => $"normal {NormalOutputLimit} pubsub {PubSubOutputLimit}";
}
