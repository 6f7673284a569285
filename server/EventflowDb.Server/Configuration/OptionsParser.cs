using System.Globalization;
using System.Net;
using System.Text;
using Serilog.Events;

namespace EventflowDb.Server.Configuration;

/// <summary>
/// Reads settings from command-line flags (<c>--port 7000</c> or <c>--port=7000</c>), then environment
/// variables (<c>PORT</c>), then defaults. Each setting is declared once in <see cref="Settings"/>, which
/// also drives <c>--help</c>.
/// </summary>
internal static class OptionsParser
{
    /// <param name="Default">The default, shown from a default <see cref="ServerOptions"/> so it is declared only there.</param>
    /// <param name="Switch">A yes/no flag that may be given bare (<c>--repair</c> means <c>--repair yes</c>).</param>
    private sealed record Setting(string Flag, string Env, Func<ServerOptions, string> Default, string Help, bool Switch = false);

    private static readonly Setting[] Settings =
    [
        new("port", "PORT", o => Number(o.Port), "TCP port to listen on (plaintext); 0: none (TLS only)."),
        new("data", "DATA", o => o.DataDirectory, "Directory for the event log, index and checkpoints (created when missing)."),
        new("password", "PASSWORD", o => o.Password ?? "", "Password clients must send with AUTH or HELLO. None by default: then the server listens on loopback only."),
        new("password-file", "PASSWORD_FILE", o => "", "File whose first line is the password of the user default: as --password, without showing it in the process list."),
        new("aclfile", "ACLFILE", o => o.AclFile ?? "", "File of users, one 'user <name> <rules>' line each in the ACL LIST form (passwords only as #<sha256 hex>). Read at start and by ACL LOAD, written by ACL SAVE; a missing file means no users but default yet."),
        new("bind", "BIND", o => o.Bind?.ToString() ?? "", "Address to listen on. Default: 127.0.0.1 without a password, 0.0.0.0 with one."),
        new("protected-mode", "PROTECTED_MODE", o => YesNo(o.ProtectedMode), "yes: refuse to listen on a non-loopback address without a password. no: allow it."),
        new("checkpoint-interval", "CHECKPOINT_INTERVAL", o => Seconds(o.CheckpointInterval), "Seconds between index checkpoints while writes go on (bounds restart replay and the *EST counters' age)."),
        new("compact-interval", "COMPACT_INTERVAL", o => Seconds(o.CompactionInterval), "Seconds between background compactions, which remove the bytes of forgotten, deleted, truncated and expired events (skipped when nothing changed); 0: none (COMPACT still runs one)."),
        new("fsync", "FSYNC", o => FsyncText(o.FlushInterval), "always: acknowledge an ADD once it is on disk (fsync). every-ms=N: acknowledge at once and fsync at least every N ms; a crash may lose the last N ms of ADDs."),
        new("direct-io", "DIRECT_IO", o => YesNo(o.DirectIo), "yes: write the log with direct synchronous I/O where the file system allows it (less CPU per write). no: write through the page cache."),
        new("repair", "REPAIR", o => YesNo(o.Repair), "yes: start even if the event log is damaged: copy the damaged files to <data>/damaged-<UTC time>/, cut the log at the damage and log the events lost. Without it a damaged store refuses to start (exit status 3).", Switch: true),
        new("default-page", "DEFAULT_PAGE", o => Number(o.DefaultPage), "Events returned by GET/GETALL when limit is 0 or missing."),
        new("max-page", "MAX_PAGE", o => Number(o.MaxPage), "Most events returned in one reply; larger limits are clamped."),
        new("max-page-bytes", "MAX_PAGE_BYTES", o => ByteSize.Format(o.MaxPageBytes), "A GET/GETALL/GROUP READ page stops early once its events pass this size (a page always holds at least one event). Units as Redis: b, kb, mb, gb."),
        new("max-bulk-bytes", "MAX_BULK_BYTES", o => Number(o.MaxBulkBytes), "Largest RESP bulk string accepted; a larger one is a protocol error."),
        new("maxclients", "MAXCLIENTS", o => Number(o.MaxClients), "Most connections at once; one more gets '-ERR max number of clients reached' and is closed."),
        new("timeout", "TIMEOUT", o => Seconds(o.IdleTimeout), "Seconds after which an idle connection (no request, not subscribed, not blocked) is closed; 0: never."),
        new("tcp-keepalive", "TCP_KEEPALIVE", o => Seconds(o.TcpKeepAlive), "Seconds between TCP keepalive probes on client connections, so dead peers are found; 0: off."),
        new("client-output-buffer-limit", "CLIENT_OUTPUT_BUFFER_LIMIT", DefaultOutputLimits, "As Redis: '<class> <hard> <soft> <soft-seconds>' for class normal and/or pubsub. A client whose unsent replies pass <hard>, or stay over <soft> for <soft-seconds>, is disconnected; 0 turns a bound off."),
        new("tls-port", "TLS_PORT", o => Number(o.Tls.Port), "TCP port to listen on with TLS (1.2 and 1.3); 0: none. Needs --tls-cert-file and --tls-key-file."),
        new("tls-cert-file", "TLS_CERT_FILE", o => o.Tls.CertFile ?? "", "PEM file of the server certificate (intermediates may follow it). Reloaded on SIGHUP and by CONFIG SET."),
        new("tls-key-file", "TLS_KEY_FILE", o => o.Tls.KeyFile ?? "", "PEM file of the server certificate's private key (unencrypted)."),
        new("tls-ca-cert-file", "TLS_CA_CERT_FILE", o => o.Tls.CaCertFile ?? "", "PEM file of the CA certificates that client certificates must chain to (needed by --tls-auth-clients yes|optional)."),
        new("tls-auth-clients", "TLS_AUTH_CLIENTS", o => o.Tls.AuthClientsText, "yes: TLS clients must present a certificate signed by the CA file. optional: validated when given. no: not asked for."),
        new("tls-cluster", "TLS_CLUSTER", o => YesNo(o.Tls.Cluster), "yes: the Raft traffic between cluster members uses TLS, authenticated both ways: each member presents --tls-cert-file and accepts only peers whose certificate chains to --tls-ca-cert-file. Every member must say yes.", Switch: true),
        new("http-port", "HTTP_PORT", o => Number(o.HttpPort), "TCP port of the HTTP endpoint (GET /health, GET /metrics in Prometheus text format), on the same --bind; 0: none."),
        new("slowlog-log-slower-than", "SLOWLOG_LOG_SLOWER_THAN", o => Number(o.SlowlogLogSlowerThan), "As Redis: microseconds a command must run to enter SLOWLOG; 0: every command; negative: none. CONFIG SET changes it."),
        new("slowlog-max-len", "SLOWLOG_MAX_LEN", o => Number(o.SlowlogMaxLen), "As Redis: most entries SLOWLOG keeps (the oldest go first). CONFIG SET changes it."),
        new("cluster-port", "CLUSTER_PORT", o => Number(o.ClusterPort), "TCP port for the Raft traffic between cluster members (on --bind); needed with --cluster-members."),
        new("cluster-listen", "CLUSTER_LISTEN", o => Number(o.ClusterListenPort), "TCP port this member really listens on for Raft traffic when it differs from its --cluster-port identity (behind a proxy or NAT); 0: the --cluster-port."),
        new("cluster-members", "CLUSTER_MEMBERS", o => string.Join(',', o.ClusterMembers), "Every member's peer address host:port (its --cluster-port), this one included, comma-separated, the same list on every member. None: standalone."),
        new("announce", "ANNOUNCE", o => o.Announce ?? "", "The client address host:port other members give out for this one (in -READONLY ... leader=, ROLE, INFO). Default 127.0.0.1:<port>."),
        new("replication", "REPLICATION", o => o.AsyncReplication ? "async" : "sync", "sync: a write is acknowledged once a majority of members hold it on disk. async: once the leader holds it (see docs/cluster.md for what that risks)."),
        new("cluster-snapshot-entries", "CLUSTER_SNAPSHOT_ENTRIES", o => Number(o.ClusterSnapshotEntries), "Raft log entries a member keeps before it compacts its log (drops the entries its store holds durably, keeping the newest half); a member further behind than that gets a copy of a member's store (see docs/cluster.md)."),
        new("masteruser", "MASTERUSER", o => o.MasterUser ?? "", "As Redis: the user this member authenticates as when it copies another member's store (SEED, needs @admin). Default: default."),
        new("masterauth", "MASTERAUTH", o => "", "As Redis: the password for --masteruser. Default: --password."),
        new("log-level", "LOG_LEVEL", o => o.LogLevel.ToString().ToLowerInvariant(), "verbose, debug, information, warning, error or fatal."),
        new("log-format", "LOG_FORMAT", o => o.JsonLogs ? "json" : "text", "text: one readable line per log event. json: one JSON object per line (Serilog compact JSON: @t, @mt, @l, properties), for log shippers."),
    ];

    private static readonly ServerOptions Defaults = new();

    /// <summary>Parses <paramref name="args"/>; returns null with a message when they are wrong or --help was asked.</summary>
    public static ServerOptions? Parse(string[] args, Func<string, string?> environment, out string? message, out bool helpRequested)
    {
        helpRequested = false;
        message = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                helpRequested = true;
                message = HelpText();
                return null;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                message = $"Unexpected argument '{arg}'. See --help.";
                return null;
            }

            string name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            var setting = Array.Find(Settings, s => s.Flag == name);
            if (setting is null)
            {
                message = $"Unknown flag '--{name}'. See --help.";
                return null;
            }

            if (value is null && setting.Switch)
            {
                value = i + 1 < args.Length && IsYesNo(args[i + 1]) ? args[++i] : "yes";
            }

            if (value is null)
            {
                if (i + 1 >= args.Length)
                {
                    message = $"Flag '--{name}' needs a value.";
                    return null;
                }

                value = args[++i];
            }

            values[name] = value;
        }

        string Get(string flag)
        {
            var setting = Array.Find(Settings, s => s.Flag == flag)!;
            if (values.TryGetValue(flag, out var v))
            {
                return v;
            }

            var env = environment(setting.Env);
            return string.IsNullOrEmpty(env) ? setting.Default(Defaults) : env;
        }

        try
        {
            string password = PasswordOf(Get("password"), Get("password-file"));
            string aclFile = Get("aclfile");
            string bind = Get("bind");
            var outputLimits = ParseOutputLimits(Get("client-output-buffer-limit"));
            var tls = ParseTls(Get);
            int port = ParseInt(Get("port"), "port", 0, 65535);
            if (port == 0 && !tls.Enabled)
            {
                throw new FormatException("port: 0 turns the plaintext port off, so --tls-port must be set (else nothing would listen)");
            }

            if (port != 0 && port == tls.Port)
            {
                throw new FormatException($"tls-port: {port} is the plaintext port too; give them different ports");
            }

            var members = Get("cluster-members").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int clusterPort = ParseInt(Get("cluster-port"), "cluster-port", 0, 65535);
            int clusterListen = ParseInt(Get("cluster-listen"), "cluster-listen", 0, 65535);
            string announce = Get("announce");
            foreach (string member in members)
            {
                _ = ParseHostPort(member, "cluster-members");
            }

            if (members.Length > 0 && clusterPort == 0)
            {
                throw new FormatException("cluster-port: a cluster member needs its peer port (--cluster-port), one of --cluster-members");
            }

            if (members.Length > 0 && !members.Any(m => ParseHostPort(m, "cluster-members").Port == clusterPort))
            {
                throw new FormatException($"cluster-members: no member has this member's --cluster-port {clusterPort}; list every member, this one included");
            }

            if (announce.Length > 0)
            {
                _ = ParseHostPort(announce, "announce");
            }

            bool asyncReplication = Get("replication").ToLowerInvariant() switch
            {
                "sync" => false,
                "async" => true,
                _ => throw new FormatException($"replication: '{Get("replication")}' must be sync or async"),
            };

            return new ServerOptions
            {
                ClusterPort = clusterPort,
                ClusterListenPort = clusterListen,
                ClusterMembers = members,
                Announce = announce.Length == 0 ? null : announce,
                AsyncReplication = asyncReplication,
                ClusterSnapshotEntries = ParseInt(Get("cluster-snapshot-entries"), "cluster-snapshot-entries", 16, int.MaxValue),
                MasterUser = Get("masteruser") is { Length: > 0 } masterUser ? masterUser : null,
                MasterAuth = Get("masterauth") is { Length: > 0 } masterAuth ? masterAuth : password.Length == 0 ? null : password,
                Port = port,
                DataDirectory = Get("data"),
                Password = password.Length == 0 ? null : password,
                AclFile = aclFile.Length == 0 ? null : aclFile,
                Bind = bind.Length == 0 ? null : IPAddress.TryParse(bind, out var ip) ? ip : throw new FormatException($"bind: '{bind}' is not an IP address"),
                ProtectedMode = ParseYesNo(Get("protected-mode"), "protected-mode"),
                CheckpointInterval = TimeSpan.FromSeconds(ParseInt(Get("checkpoint-interval"), "checkpoint-interval", 1, 86_400)),
                CompactionInterval = TimeSpan.FromSeconds(ParseInt(Get("compact-interval"), "compact-interval", 0, 31 * 86_400)),
                FlushInterval = ParseFsync(Get("fsync")),
                DirectIo = ParseYesNo(Get("direct-io"), "direct-io"),
                Repair = ParseYesNo(Get("repair"), "repair"),
                DefaultPage = ParseInt(Get("default-page"), "default-page", 1, 1_000_000),
                MaxPage = ParseInt(Get("max-page"), "max-page", 1, 1_000_000),
                MaxPageBytes = ParseBytes(Get("max-page-bytes"), "max-page-bytes", 1024, 1L << 32),
                MaxBulkBytes = ParseInt(Get("max-bulk-bytes"), "max-bulk-bytes", 1024, 512 * 1024 * 1024),
                MaxClients = ParseInt(Get("maxclients"), "maxclients", 1, 1_000_000),
                IdleTimeout = TimeSpan.FromSeconds(ParseInt(Get("timeout"), "timeout", 0, int.MaxValue)),
                TcpKeepAlive = TimeSpan.FromSeconds(ParseInt(Get("tcp-keepalive"), "tcp-keepalive", 0, 86_400)),
                Tls = tls,
                HttpPort = ParseHttpPort(Get("http-port"), port, tls.Port),
                SlowlogLogSlowerThan = ParseLong(Get("slowlog-log-slower-than"), "slowlog-log-slower-than", -1, long.MaxValue),
                SlowlogMaxLen = ParseInt(Get("slowlog-max-len"), "slowlog-max-len", 0, 1_000_000),
                JsonLogs = Get("log-format").ToLowerInvariant() switch
                {
                    "text" => false,
                    "json" => true,
                    _ => throw new FormatException($"log-format: '{Get("log-format")}' must be text or json"),
                },
                NormalOutputLimit = outputLimits.Normal,
                PubSubOutputLimit = outputLimits.PubSub,
                LogLevel = Enum.TryParse<LogEventLevel>(Get("log-level"), ignoreCase: true, out var level)
                    ? level
                    : throw new FormatException($"log-level: '{Get("log-level")}' is not a level"),
            };
        }
        catch (FormatException e)
        {
            message = e.Message;
            return null;
        }
    }

    /// <summary>The password of <c>--password</c>, or the first line of <c>--password-file</c>; not both.</summary>
    private static string PasswordOf(string password, string passwordFile)
    {
        if (passwordFile.Length == 0)
        {
            return password;
        }

        if (password.Length > 0)
        {
            throw new FormatException("password-file: give --password or --password-file, not both");
        }

        try
        {
            string first = File.ReadLines(passwordFile).FirstOrDefault() ?? "";
            return first.Length > 0 ? first : throw new FormatException($"password-file: '{passwordFile}' holds no password on its first line");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"password-file: cannot read '{passwordFile}': {e.Message}");
        }
    }

    /// <summary>The TLS settings; the files are only named here, Program loads them before it listens.</summary>
    private static TlsOptions ParseTls(Func<string, string> get)
    {
        static string? Path(string value) => value.Length == 0 ? null : value;
        var tls = new TlsOptions
        {
            Port = ParseInt(get("tls-port"), "tls-port", 0, 65535),
            CertFile = Path(get("tls-cert-file")),
            KeyFile = Path(get("tls-key-file")),
            CaCertFile = Path(get("tls-ca-cert-file")),
            AuthClients = TlsOptions.ParseAuthClients(get("tls-auth-clients"), "tls-auth-clients"),
            Cluster = ParseYesNo(get("tls-cluster"), "tls-cluster"),
        };
        if (tls.Cluster && (tls.CertFile is null || tls.KeyFile is null || tls.CaCertFile is null))
        {
            throw new FormatException("tls-cluster: TLS between cluster members needs --tls-cert-file, --tls-key-file and --tls-ca-cert-file (the CA that signs every member's certificate)");
        }

        if (tls.Enabled && (tls.CertFile is null || tls.KeyFile is null))
        {
            throw new FormatException("tls-port: TLS needs a certificate and its key: set --tls-cert-file and --tls-key-file (PEM)");
        }

        if (tls.Enabled && tls.AuthClients != TlsAuthClients.No && tls.CaCertFile is null)
        {
            throw new FormatException($"tls-auth-clients: '{tls.AuthClientsText}' needs --tls-ca-cert-file (the CA that signs client certificates)");
        }

        return tls;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan value) => Number((long)value.TotalSeconds);

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string FsyncText(TimeSpan? flushInterval) =>
        flushInterval is { } every ? $"every-ms={Number((long)every.TotalMilliseconds)}" : "always";

    private static string DefaultOutputLimits(ServerOptions o) =>
        $"normal {OutputLimitText(o.NormalOutputLimit)} pubsub {OutputLimitText(o.PubSubOutputLimit)}";

    private static string OutputLimitText(OutputBufferLimit limit) =>
        $"{ByteSize.Format(limit.HardBytes)} {ByteSize.Format(limit.SoftBytes)} {Number(limit.SoftSeconds)}";

    private static long ParseBytes(string text, string name, long min, long max) =>
        ByteSize.TryParse(text, out long value) && value >= min && value <= max
            ? value
            : throw new FormatException($"{name}: '{text}' is not a size from {ByteSize.Format(min)} to {ByteSize.Format(max)} (units b, kb, mb, gb)");

    /// <summary>Redis syntax: groups of <c>class hard soft seconds</c>; a class not given keeps its default.</summary>
    private static (OutputBufferLimit Normal, OutputBufferLimit PubSub) ParseOutputLimits(string text)
    {
        const string Name = "client-output-buffer-limit";
        var normal = Defaults.NormalOutputLimit;
        var pubsub = Defaults.PubSubOutputLimit;
        string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words.Length % 4 != 0)
        {
            throw new FormatException($"{Name}: '{text}' must be groups of '<class> <hard> <soft> <soft-seconds>'");
        }

        for (int i = 0; i < words.Length; i += 4)
        {
            var limit = new OutputBufferLimit(
                ParseBytes(words[i + 1], $"{Name} hard", 0, long.MaxValue),
                ParseBytes(words[i + 2], $"{Name} soft", 0, long.MaxValue),
                ParseInt(words[i + 3], $"{Name} soft-seconds", 0, int.MaxValue));
            switch (words[i].ToUpperInvariant())
            {
                case "NORMAL":
                    normal = limit;
                    break;
                case "PUBSUB":
                    pubsub = limit;
                    break;
                default:
                    throw new FormatException($"{Name}: unknown class '{words[i]}' (normal or pubsub)");
            }
        }

        return (normal, pubsub);
    }

    private static int ParseHttpPort(string text, int port, int tlsPort)
    {
        int httpPort = ParseInt(text, "http-port", 0, 65535);
        return httpPort != 0 && (httpPort == port || httpPort == tlsPort)
            ? throw new FormatException($"http-port: {httpPort} is taken by the RESP port; give it a port of its own")
            : httpPort;
    }

    /// <summary>A host:port pair (host name, IPv4, or [IPv6]).</summary>
    public static (string Host, int Port) ParseHostPort(string text, string name)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException($"{name}: '{text}' is not host:port");
        }

        string host = text[..colon].Trim('[', ']');
        int port = ParseInt(text[(colon + 1)..], name, 1, 65535);
        return (host, port);
    }

    private static long ParseLong(string text, string name, long min, long max) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) && value >= min && value <= max
            ? value
            : throw new FormatException($"{name}: '{text}' is not a whole number from {min} to {max}");

    private static int ParseInt(string text, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new FormatException($"{name}: '{text}' is not a whole number from {min} to {max}");

    private static TimeSpan? ParseFsync(string text)
    {
        const string EveryMs = "every-ms=";
        if (text.Equals("always", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return text.StartsWith(EveryMs, StringComparison.OrdinalIgnoreCase)
            ? TimeSpan.FromMilliseconds(ParseInt(text[EveryMs.Length..], "fsync every-ms", 1, 60_000))
            : throw new FormatException($"fsync: '{text}' must be always or every-ms=N");
    }

    private static bool IsYesNo(string text) => text.ToUpperInvariant() is "YES" or "TRUE" or "1" or "NO" or "FALSE" or "0";

    private static bool ParseYesNo(string text, string name) => text.ToUpperInvariant() switch
    {
        "YES" or "TRUE" or "1" => true,
        "NO" or "FALSE" or "0" => false,
        _ => throw new FormatException($"{name}: '{text}' must be yes or no"),
    };

    private static string HelpText()
    {
        var text = new StringBuilder();
        text.AppendLine("EventflowDB server: an event store that speaks RESP.");
        text.AppendLine();
        text.AppendLine("Usage: EventflowDb.Server [--flag value | --flag=value]...");
        text.AppendLine("Every flag can also be set by its environment variable; a flag wins over the variable.");
        text.AppendLine();
        foreach (var s in Settings)
        {
            string value = s.Default(Defaults);
            string def = value.Length == 0 ? "none" : value;
            text.AppendLine(CultureInfo.InvariantCulture, $"  --{s.Flag,-22} {s.Env,-22} default {def}");
            text.AppendLine(CultureInfo.InvariantCulture, $"      {s.Help}");
        }

        return text.ToString();
    }
}
