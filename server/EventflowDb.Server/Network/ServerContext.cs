using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using EventflowDb.Protocol;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Groups;
using EventflowDb.Server.Security;
using EventflowDb.Storage;

namespace EventflowDb.Server.Network;

/// <summary>What every session shares: settings, the store, the command table, the client list, the consumer groups.</summary>
internal sealed class ServerContext(ServerOptions options, IEventStore store, CommandTable commands, Serilog.ILogger logger, AccessControl? access = null) : IDisposable
{
    /// <summary>The Redis version clients should assume (INFO redis_version, HELLO version).</summary>
    public const string RedisCompatibleVersion = "7.2.0";

    private long _nextClientId;

    private int _connections;

    // In a cluster the member's registry (opened before the Raft log replays, owned by the member); standalone its own.
    private readonly Lazy<GroupRegistry> _groups = new(
        () => store is Cluster.ReplicatedEventStore replicated ? replicated.Node.Groups.Registry : new GroupRegistry(store, options.DataDirectory),
        LazyThreadSafetyMode.ExecutionAndPublication);

    public ServerOptions Options { get; } = options;

    public IEventStore Store { get; } = store;

    public CommandTable Commands { get; } = commands;

    public Serilog.ILogger Logger { get; } = logger;

    /// <summary>The users and their rights (ACL), with <c>ACL LOG</c>.</summary>
    public AccessControl Access { get; } = access ?? new AccessControl(options, commands);

    /// <summary>The consumer groups, loaded from the data directory by the first GROUP command.</summary>
    public GroupRegistry Groups => _groups.Value;

    /// <summary>Request limits; the reader holds no per-connection state, so one serves every session.</summary>
    public RespRequestReader RequestReader { get; } = new(Limits(options));

    /// <summary>Before authentication a request has at most this many arguments (SPEC "Limits").</summary>
    public const int UnauthenticatedMaxArguments = 10;

    /// <summary>Before authentication an argument has at most this many bytes (SPEC "Limits").</summary>
    public const int UnauthenticatedMaxArgumentBytes = 16 * 1024;

    /// <summary>A connection is closed after this many failed AUTHs (SPEC "Limits").</summary>
    public const int MaxFailedAuthentications = 10;

    /// <summary>
    /// The reader of connections that have not authenticated while a password is set: its limits are checked on each
    /// header, before an argument is waited for, so such a connection never holds more than one small request.
    /// </summary>
    public RespRequestReader UnauthenticatedRequestReader { get; } = new(new RespLimits
    {
        MaxArguments = UnauthenticatedMaxArguments,
        MaxBulkLength = UnauthenticatedMaxArgumentBytes,
        MaxInlineLength = 64 * 1024,
        MaxRequestBytes = UnauthenticatedMaxArguments * (UnauthenticatedMaxArgumentBytes + 16L) + 16,
        LimitError = "unauthenticated request too large",
    });

    /// <summary>Failed AUTHs, logged at most once a second per client address with a count.</summary>
    public AddressLogLimiter FailedAuthLog { get; } = new(logger, "Failed authentication from {Address}: {Count} failed attempts since the last report");

    /// <summary>HTTP sent to the RESP port (cross-protocol scripting), logged like failed AUTHs.</summary>
    public AddressLogLimiter CrossProtocolLog { get; } = new(logger, "Possible SECURITY ATTACK detected: a client at {Address} sent an HTTP request (POST, Host: or an HTTP request line) to the RESP port, likely Cross Protocol Scripting; connection closed ({Count} since the last report)");

    /// <summary>TLS handshakes sent to the plaintext port (a client configured for TLS on the wrong port), logged like failed AUTHs.</summary>
    public AddressLogLimiter TlsOnPlainPortLog { get; } = new(logger, "A client at {Address} started a TLS handshake on the plaintext port; connection closed (TLS clients must use --tls-port) ({Count} since the last report)");

    /// <summary>Connections refused by <c>--maxclients</c>, logged like failed AUTHs.</summary>
    public AddressLogLimiter RejectedConnectionLog { get; } = new(logger, "Refused a connection from {Address}: max number of clients reached ({Count} refused since the last report)");

    /// <summary>Writes the counts the log limiters held back (called once a second).</summary>
    public void FlushLogLimiters()
    {
        FailedAuthLog.Flush();
        CrossProtocolLog.Flush();
        TlsOnPlainPortLog.Flush();
        RejectedConnectionLog.Flush();
    }

    /// <summary>
    /// The receive pipe pauses the socket once this much is unread, so no client can make the server buffer more
    /// than that, however fast it sends and however long its session waits (on a commit, on a slow reply). A
    /// request larger than <see cref="LargeRequestBuffer.Threshold"/> continues in the session's <see cref="LargeRequestBuffer"/>,
    /// which grows only as the request arrives and within the request limits.
    /// </summary>
    public const int ReceivePipePauseBytes = 1024 * 1024;

    /// <summary>
    /// Both schedulers are inline: received bytes are handed to the session and processed on the thread that
    /// received them (with inline socket completions, the socket engine's event loop; see Program), instead
    /// of a hop to a pool thread per read. Commands therefore must not block: anything slow awaits.
    /// </summary>
    public static PipeOptions ReceivePipeOptions() =>
        new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: ReceivePipePauseBytes, resumeWriterThreshold: ReceivePipePauseBytes / 2, useSynchronizationContext: false);

    /// <summary>
    /// The send loop runs inline when a session flushes: the socket write happens on the session's thread
    /// instead of a hop to a pool thread per flush (about a fifth of the CPU time of a pipelined PING). The
    /// send loop's own waits (a full socket buffer) stay asynchronous, so a session never blocks on a slow client.
    /// The pipe pauses writers only above every <c>--client-output-buffer-limit</c> (<see cref="OutputAccounting.PauseThreshold"/>):
    /// the limits bound unsent output, checked at each flush and by the <see cref="ConnectionSweeper"/>.
    /// </summary>
    public static PipeOptions SendPipeOptions(ServerOptions options)
    {
        long pause = OutputAccounting.PauseThreshold(options);
        return new(readerScheduler: PipeScheduler.Inline, pauseWriterThreshold: pause, resumeWriterThreshold: pause / 2, useSynchronizationContext: false);
    }

    private static RespLimits Limits(ServerOptions options) => new()
    {
        MaxBulkLength = options.MaxBulkBytes,
        MaxRequestBytes = Math.Max(128L * 1024 * 1024, options.MaxBulkBytes + (1024L * 1024)),
    };

    public ConcurrentDictionary<long, ClientSession> Clients { get; } = new();

    public Stopwatch Uptime { get; } = Stopwatch.StartNew();

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public long TotalConnections;

    public long TotalCommands;

    /// <summary>Connections refused because <c>--maxclients</c> were already connected (INFO stats).</summary>
    public long RejectedConnections;

    /// <summary>Clients disconnected for passing their <c>--client-output-buffer-limit</c> (INFO stats).</summary>
    public long OutputBufferLimitDisconnections;

    /// <summary>TLS handshakes that failed or timed out (INFO stats).</summary>
    public long TlsHandshakeFailures;

    /// <summary>The TLS certificates in use and their reloads (CONFIG SET, SIGHUP).</summary>
    public Tls.TlsCertificates Tls { get; init; } = new(options, logger);

    /// <summary>The server's own semantic version.</summary>
    public static string Version { get; } =
        typeof(ServerContext).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    /// <summary>Durations of the store's commits, for INFO's percentiles.</summary>
    public Observability.CommitLatency CommitLatency { get; } = new(store.Statistics);

    /// <summary>Commands slower than <c>slowlog-log-slower-than</c> (SLOWLOG).</summary>
    public Observability.SlowLog SlowLog { get; } = new(options.SlowlogLogSlowerThan, options.SlowlogMaxLen);

    public long NextClientId() => Interlocked.Increment(ref _nextClientId);

    /// <summary>Counts a new connection; false (and not counted) when <c>--maxclients</c> are already connected.</summary>
    public bool TryAdmitConnection()
    {
        if (Interlocked.Increment(ref _connections) <= Options.MaxClients)
        {
            return true;
        }

        Interlocked.Decrement(ref _connections);
        Interlocked.Increment(ref RejectedConnections);
        return false;
    }

    /// <summary>Uncounts a connection that <see cref="TryAdmitConnection"/> admitted, once it has ended.</summary>
    public void ConnectionEnded() => Interlocked.Decrement(ref _connections);

    /// <summary>
    /// Asks every session to finish what it has received and close, and waits for them up to <paramref name="grace"/>;
    /// a session still open then (its client does not read its last replies) is aborted, and waited for briefly.
    /// </summary>
    public async Task StopSessionsAsync(TimeSpan grace)
    {
        var sessions = Clients.Values.ToList();
        foreach (var session in sessions)
        {
            session.RequestStop();
        }

        var all = Task.WhenAll(sessions.Select(s => s.Completion));
        if (await Task.WhenAny(all, Task.Delay(grace)).ConfigureAwait(false) == all)
        {
            return;
        }

        var stuck = sessions.Where(s => !s.Completion.IsCompleted).ToList();
        Logger.Information("{Count} connections did not take their last replies within {Grace}; closing them", stuck.Count, grace);
        foreach (var session in stuck)
        {
            session.Abort();
        }

        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false) != all)
        {
            Logger.Warning("{Count} connections did not close", sessions.Count(s => !s.Completion.IsCompleted));
        }
    }

    /// <summary>Closes the consumer groups' journal; call after <see cref="StopSessionsAsync"/>.</summary>
    public void Dispose()
    {
        CommitLatency.Dispose();
        if (_groups.IsValueCreated && Store is not Cluster.ReplicatedEventStore)
        {
            _groups.Value.Dispose();
        }
    }
}
