using System.Net;
using System.Runtime.InteropServices;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Http;
using EventflowDb.Server.Network;
using EventflowDb.Server.Observability;
using EventflowDb.Server.Security;
using EventflowDb.Server.Network.Tls;
using EventflowDb.Storage;
using Serilog;
using Serilog.Core;
using Serilog.Formatting.Compact;

namespace EventflowDb.Server;

internal static class Program
{
    /// <summary>Exit status when the store is damaged and --repair was not given (SPEC.md, "Storage integrity").</summary>
    private const int StoreDamagedExitCode = 3;

    /// <summary>RunAsync's answer when the service must start again, a copy of a member's store installed first.</summary>
    private const int RestartToInstall = -1;

    private const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static async Task<int> Main(string[] args)
    {
        // Socket completions run on the socket engine's event-loop thread, not handed to a pool thread; with the
        // receive pipe's inline schedulers (ServerContext) a request is parsed, executed and answered right there,
        // Redis-style (pipelined PING: 0.6 instead of 1.0 us of server CPU per command). Read by the runtime when
        // the first socket is created, so it must be set before the listener starts; an operator's setting wins.
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
        }

        if (args is [HealthProbe.Verb, ..])
        {
            return await HealthProbe.RunAsync(args).ConfigureAwait(false);
        }

        var options = OptionsParser.Parse(args, Environment.GetEnvironmentVariable, out string? message, out bool help);
        if (options is null)
        {
            (help ? Console.Out : Console.Error).WriteLine(message);
            return help ? 0 : 2;
        }

        var levelSwitch = new LoggingLevelSwitch(options.LogLevel);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(levelSwitch)
            .Enrich.FromLogContext();
        await using var logger = (options.JsonLogs
            ? configuration.WriteTo.Console(new CompactJsonFormatter())
            : configuration.WriteTo.Console(outputTemplate: "[{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3}] {Message:lj}{NewLine}{Exception}"))
            .CreateLogger();

        try
        {
            int status;
            while ((status = await RunAsync(options, logger).ConfigureAwait(false)) == RestartToInstall)
            {
                logger.Information("Restarting the service to install a copy of a member's store");
            }

            return status;
        }
        catch (Exception e)
        {
            logger.Fatal(e, "Server stopped on an unexpected error");
            return 1;
        }
    }

    private static async Task<int> RunAsync(ServerOptions options, Serilog.ILogger logger)
    {
        var storeOptions = new StoreOptions { DataDirectory = options.DataDirectory, CheckpointInterval = options.CheckpointInterval, CompactionInterval = options.CompactionInterval, FlushInterval = options.FlushInterval, DirectIo = options.DirectIo, Repair = options.Repair, ReadOnlyOnAnyFailedAppend = options.Clustered };
        var commands = CommandCatalog.Create(storeOptions.MaxAppendBytes);
        AccessControl access;
        try
        {
            access = new AccessControl(options, commands);
        }
        catch (Exception e) when (e is AclRuleException or IOException or UnauthorizedAccessException)
        {
            logger.Error("Cannot read the ACL file {AclFile}: {Error}", options.AclFile, e.Message);
            return 1;
        }

        var bind = options.EffectiveBind;
        if (!access.AuthenticationRequired && options.ProtectedMode && !IPAddress.IsLoopback(bind))
        {
            logger.Error(
                "Refusing to listen on {Bind} without a password (protected mode). Set --password (or give the user default a password in --aclfile), or --protected-mode no to accept remote connections without one",
                bind);
            return 1;
        }

        using var shutdown = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        // Loaded before the store opens, so unusable TLS files refuse the start at once.
        var tls = new TlsCertificates(options, logger);
        try
        {
            tls.Apply(current => current, "start");
        }
        catch (TlsFileException e)
        {
            logger.Error("Cannot start with TLS: {Error}", e.Message);
            return 1;
        }

        // SIGHUP reloads the TLS files (renewed certificates), as nginx and others do; off the signal thread.
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
        {
            signal.Cancel = true;
            ThreadPool.QueueUserWorkItem(_ => tls.ReloadFiles());
        });

        logger.Information("EventflowDB {Version} starting, data directory {DataDirectory}", ServerContext.Version, Path.GetFullPath(options.DataDirectory));

        // The HTTP port comes up while the store opens (in parallel: both take a few hundred ms), so /health says
        // "loading" while a long log replays.
        var health = new ServerHealth();
        var httpStarting = options.HttpPort == 0 ? Task.FromResult<HttpEndpoint?>(null) : Task.Run(StartHttpAsync);
        FasterEventStore store;
        try
        {
            if (options.Clustered && Cluster.SnapshotInstall.Pending(options.DataDirectory))
            {
                await Cluster.SnapshotInstall.RunPendingAsync(
                    options.DataDirectory,
                    options.EffectiveAnnounce,
                    Cluster.SnapshotInstall.With(options, tls, logger),
                    logger,
                    shutdown.Token).ConfigureAwait(false);
            }

            store = await FasterEventStore.OpenAsync(storeOptions, logger, shutdown.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (await httpStarting.ConfigureAwait(false) is { } started)
            {
                await started.DisposeAsync().ConfigureAwait(false);
            }

            if (e is OperationCanceledException && shutdown.IsCancellationRequested)
            {
                // Stopped while a store copy was being installed: the next start goes on with it.
                return 0;
            }

            if (e is StoreDamagedException)
            {
                // The store logged the file, the offset and what to do; a distinct status lets supervisors tell it apart.
                return StoreDamagedExitCode;
            }

            throw;
        }

        await using var http = await httpStarting.ConfigureAwait(false);
        if (options.HttpPort != 0 && http is null)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            return 1;
        }

        // In a cluster the network layer sees the replicated store: reads from this member's store, writes through Raft.
        IEventStore served = store;
        var installRequested = new TaskCompletionSource().Task;
        if (options.Clustered)
        {
            try
            {
                var node = await Cluster.ClusterNode.StartAsync(options, store, tls, logger, shutdown.Token).ConfigureAwait(false);
                served = new Cluster.ReplicatedEventStore(store, node);
                installRequested = node.InstallRequested;
            }
            catch (Cluster.SnapshotInstallRequiredException e)
            {
                logger.Warning("Cluster: {Reason}; this member installs a copy of a member's store", e.Message);
                await store.DisposeAsync().ConfigureAwait(false);
                return RestartToInstall;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                logger.Error("Cannot join the cluster on peer port {ClusterPort}: {Error}", options.ClusterPort, e.Message);
                await store.DisposeAsync().ConfigureAwait(false);
                return 1;
            }
        }

        bool restart = false;
        try
        {
            using var context = new ServerContext(options, served, commands, logger, access) { Tls = tls };
            using var metrics = new ServerMetrics(context);
            using var server = options.Port == 0 ? null : await ListenAsync(new RespServer(context), options.Port, "").ConfigureAwait(false);
            using var tlsServer = options.Tls.Enabled ? await ListenAsync(new RespServer(context, tls: true), options.Tls.Port, " with TLS").ConfigureAwait(false) : null;
            using var sweeper = new ConnectionSweeper(context);
            health.Serving(context, metrics);
            if (access.FilePath is not null)
            {
                logger.Information("Users from {AclFile}: {Users}", Path.GetFullPath(access.FilePath), string.Join(", ", access.Users.Select(u => u.Name)));
            }

            // Until a signal, or until this member must install a copy of a store (then the service starts again).
            await Task.WhenAny(Task.Delay(Timeout.Infinite, shutdown.Token), installRequested).ConfigureAwait(false);
            restart = installRequested.IsCompleted && !shutdown.IsCancellationRequested;
            logger.Information(restart ? "Stopping the service to install a copy of a member's store" : "Shutting down");

            health.Stopping();

            server?.Shutdown();
            tlsServer?.Shutdown();

            // A second for the last replies: a client that does not read them is not waited for (SIGTERM ends in seconds).
            await context.StopSessionsAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        finally
        {
            // HTTP requests and subscriptions end before the store closes under them.
            if (http is not null)
            {
                await http.StopAsync().ConfigureAwait(false);
            }

            // Commits the log and checkpoints the index so that the next start replays nothing (a cluster member first
            // leaves the cluster, so its last applied entries reach the store).
            if (restart && served is Cluster.ReplicatedEventStore replicated)
            {
                await replicated.Node.CompleteInstallSourcesAsync().ConfigureAwait(false);
            }

            await served.DisposeAsync().ConfigureAwait(false);
            logger.Information("Store closed");
        }

        return restart ? RestartToInstall : 0;

        async Task<RespServer> ListenAsync(RespServer server, int port, string transport)
        {
            var endpoint = new IPEndPoint(bind, port);
            server.Listen(endpoint, endpoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp, sendOptions: ServerContext.SendPipeOptions(options), receiveOptions: ServerContext.ReceivePipeOptions());
            await server.Started.WaitAsync(TimeSpan.FromSeconds(30), shutdown.Token).ConfigureAwait(false);
            logger.Information("Listening on {Endpoint}{Transport}{Auth}", endpoint, transport, access.AuthenticationRequired ? "" : " (no password: loopback clients only)");
            return server;
        }

        async Task<HttpEndpoint?> StartHttpAsync()
        {
            var endpoint = new IPEndPoint(bind, options.HttpPort);
            try
            {
                // With a TLS port the HTTP port is HTTPS too, with the same certificate: credentials never cross in clear.
                var https = options.Tls.Enabled ? tls : null;
                var started = await HttpEndpoint.StartAsync(endpoint, health, access, storeOptions.MaxAppendBytes, options.MaxClients, https, shutdown.Token).ConfigureAwait(false);
                logger.Information("HTTP on {Scheme}://{Endpoint} (web console at /, API, /subscribe, /openapi/v1.json, /scalar, /health, /metrics)", https is null ? "http" : "https", endpoint);
                return started;
            }
            catch (IOException e)
            {
                logger.Error("Cannot listen for HTTP on {Endpoint}: {Error}. Set --http-port to a free port, or 0 for no HTTP", endpoint, e.Message);
                return null;
            }
        }

        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true;
            shutdown.Cancel();
        }
    }
}
