using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using StackExchange.Redis;

namespace EventflowDb.Tests.Harness;

/// <summary>Settings of one server process started by <see cref="ServerProcess.StartAsync(ServerSettings?)"/>.</summary>
public sealed class ServerSettings
{
    /// <summary>Password (<c>--password</c>); null: none.</summary>
    public string? Password { get; init; }

    /// <summary>Extra command-line arguments appended after <c>--port P --data DIR</c>.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>Environment variables for the child (the server's own variables are cleared first).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Existing data directory to use (kept on dispose); null: a fresh temp directory, deleted on dispose.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>When true, port, data directory and password go to the child as PORT, DATA and PASSWORD instead of flags.</summary>
    public bool UseEnvironmentVariables { get; init; }

    /// <summary>
    /// Certificates for a TLS port (<see cref="ServerProcess.TlsPort"/>): the server certificate and key of
    /// <see cref="TestCertificates.Server"/> and the CA file; null: no TLS port.
    /// </summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>With <see cref="Tls"/>: <c>--port 0</c> (no plaintext port); the start is then checked over TLS.</summary>
    public bool TlsOnly { get; init; }

    /// <summary>
    /// When true, the HTTP port listens on a free loopback port (<see cref="ServerProcess.HttpPort"/>). Otherwise the
    /// child gets HTTP_PORT=0 (no HTTP port, so parallel servers never fight over 6544), unless a test sets it.
    /// </summary>
    public bool Http { get; init; }
}

/// <summary>
/// Outcome of <see cref="ServerProcess.StartOrExitAsync"/>: a server that answers PING, or the exit status and the
/// output of a server that exited while starting.
/// </summary>
public sealed record StartOutcome(ServerProcess? Server, int? ExitCode, string Output)
{
    /// <summary>True when the server is up.</summary>
    public bool Started => Server is not null;
}

/// <summary>
/// The real EventflowDB server as a child process on a free loopback port with its own data directory.
/// Captures stdout/stderr; <see cref="Output"/> belongs in every failure message.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    /// <summary>Variables the server reads; cleared in the child so the caller's environment cannot leak in.</summary>
    private static readonly string[] ServerVariables =
    [
        "PORT", "DATA", "PASSWORD", "BIND", "PROTECTED_MODE", "CHECKPOINT_INTERVAL", "DEFAULT_PAGE", "MAX_PAGE",
        "MAX_BULK_BYTES", "LOG_LEVEL", "TLS_PORT", "TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_CERT_FILE", "TLS_AUTH_CLIENTS",
        "HTTP_PORT", "LOG_FORMAT", "SLOWLOG_LOG_SLOWER_THAN", "SLOWLOG_MAX_LEN",
    ];

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ServerSettings _settings;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private readonly bool _ownsDataDirectory;
    private Process? _process;
    private int _runs;

    private ServerProcess(ServerSettings settings, int port, string dataDirectory, bool ownsDataDirectory)
    {
        _settings = settings;
        Port = port;
        TlsPort = settings.Tls is null ? 0 : FreePort();
        HttpPort = settings.Http ? FreePort() : 0;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
    }

    /// <summary>Loopback port the server listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Loopback TLS port (0: none).</summary>
    public int TlsPort { get; }

    /// <summary>Loopback HTTP port (0: none); see <see cref="ServerSettings.Http"/>.</summary>
    public int HttpPort { get; }

    /// <summary>The base address of the HTTP port (https:// when the server has a TLS port: HTTP then speaks HTTPS).</summary>
    public Uri HttpAddress => HttpPort == 0
        ? throw new InvalidOperationException("started without ServerSettings.Http")
        : new Uri($"{(_settings.Tls is null ? "http" : "https")}://127.0.0.1:{HttpPort}");

    /// <summary>The server's data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>Configured password, or null.</summary>
    public string? Password => _settings.Password;

    /// <summary>When true, the data directory is not deleted on dispose.</summary>
    public bool KeepDataDirectory { get; set; }

    /// <summary>OS process id of the current run.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>True while the current run's process is alive.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Exit status of the current run once it has exited, else null.</summary>
    public int? ExitCode => _process is { HasExited: true } process ? process.ExitCode : null;

    /// <summary>Everything the server printed, all runs, with run markers.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Path of the repository root (the directory holding EventflowDb.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Debug or Release: the configuration the test assembly was built with.</summary>
    public static string Configuration { get; } =
        typeof(ServerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The server's entry assembly, built by the project reference.</summary>
    public static string ServerDll { get; } =
        Path.Combine(RepoRoot, "server", "EventflowDb.Server", "bin", Configuration, "net10.0", "EventflowDb.Server.dll");

    /// <summary>The dotnet host that runs the tests (the CLI sets DOTNET_HOST_PATH), else dotnet from PATH.</summary>
    private static string DotnetHost => System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Starts a server with default settings.</summary>
    public static Task<ServerProcess> StartAsync(params string[] extraArgs) =>
        StartAsync(new ServerSettings { ExtraArgs = extraArgs });

    /// <summary>Starts a server and waits until PING answers PONG.</summary>
    public static async Task<ServerProcess> StartAsync(ServerSettings? settings)
    {
        settings ??= new ServerSettings();
        bool owns = settings.DataDirectory is null;
        string data = settings.DataDirectory ?? NewTempDirectory();
        Exception? last = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var server = new ServerProcess(settings, FreePort(), data, owns);
            try
            {
                await server.RunAsync();
                return server;
            }
            catch (ServerStartException e) when (e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) && attempt < 2)
            {
                // Another process took the free port between probing and binding: try another one.
                last = e;
                server.KeepDataDirectory = true;
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw last!;
    }

    /// <summary>
    /// Starts a server like <see cref="StartAsync(ServerSettings?)"/>, but a server that exits while starting (a
    /// refused configuration, a damaged store) is an outcome, not an exception: its exit status and output are
    /// returned at once instead of waiting for a PING that never comes. A server that neither answers nor exits
    /// within the start time-out still fails with <see cref="ServerStartException"/>.
    /// </summary>
    public static async Task<StartOutcome> StartOrExitAsync(ServerSettings settings)
    {
        try
        {
            var server = await StartAsync(settings);
            return new StartOutcome(server, null, server.Output);
        }
        catch (ServerStartException e) when (e.ExitCode is { } code)
        {
            return new StartOutcome(null, code, e.Message);
        }
    }

    /// <summary>A fresh empty directory under the system temp directory.</summary>
    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "eventflowdb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private const int FirstPort = 20_000;
    private const int PortCount = 12_000;
    private static int _nextPort = Random.Shared.Next(PortCount);

    /// <summary>
    /// A loopback port that was free a moment ago, below Linux's ephemeral range (32768-60999): a port the OS picked
    /// could be taken by any outgoing connection (cluster members connect to each other as they start) before the server
    /// binds it ("Address already in use"). Ports are handed out in turn from a random start, so test runs in parallel
    /// processes rarely meet, and a port in use is skipped.
    /// </summary>
    public static int FreePort()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FirstPort + (int)((uint)Interlocked.Increment(ref _nextPort) % PortCount);
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (SocketException) when (attempt < PortCount)
            {
            }
        }
    }

    /// <summary>Runs the server binary with exactly <paramref name="args"/> and waits for it to exit (for --help and refused configurations).</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        string workingDirectory = NewTempDirectory();
        try
        {
            return await RunToExitInAsync(args, environment, timeout, workingDirectory);
        }
        finally
        {
            TryDeleteDirectory(workingDirectory);
        }
    }

    /// <summary>Deletes a directory tree, ignoring failures (temp directories only).</summary>
    public static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static async Task<(int ExitCode, string Output)> RunToExitInAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan? timeout, string workingDirectory)
    {
        var output = new StringBuilder();
        var gate = new Lock();
        using var process = CreateProcess(args, environment ?? new Dictionary<string, string>(), workingDirectory);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        StartOrFail(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout ?? StartTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (gate)
            {
                throw new TimeoutException($"server with [{string.Join(' ', args)}] did not exit within {timeout ?? StartTimeout}; output:\n{output}");
            }
        }

        lock (gate)
        {
            return (process.ExitCode, output.ToString());
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    output.AppendLine(line);
                }
            }
        }
    }

    /// <summary>
    /// Starts the server again on the same port and data directory (it must not be running): null once it answers
    /// PING, or the exit status of a server that exited while starting (its output is in <see cref="Output"/>).
    /// </summary>
    public async Task<int?> RestartOrExitAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("the server is still running");
        }

        try
        {
            await RunAsync();
            return null;
        }
        catch (ServerStartException e) when (e.ExitCode is { } code)
        {
            return code;
        }
    }

    /// <summary>
    /// Sends SIGKILL to the current run at once, from the calling thread (no process-tree walk first): for killing at
    /// a precise moment. False when the process had already exited. Follow with <see cref="KillAsync"/> to wait for it.
    /// </summary>
    public bool SignalKill()
    {
        var process = _process;
        return process is not null && !process.HasExited && SysKill(process.Id, 9) == 0;
    }

    /// <summary>Sends SIGTERM (a graceful stop) without waiting for the exit. False when the process had already exited.</summary>
    public bool SignalTerm()
    {
        var process = _process;
        return process is not null && !process.HasExited && SysKill(process.Id, 15) == 0;
    }

    /// <summary>Sends SIGHUP (the server reloads its TLS files) without waiting. False when the process had already exited.</summary>
    public bool SignalHangup()
    {
        var process = _process;
        return process is not null && !process.HasExited && SysKill(process.Id, 1) == 0;
    }

    /// <summary>kill -9: no shutdown code runs in the server.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        AppendOutput($"--- killed (SIGKILL), exit code {process.ExitCode} ---");
    }

    /// <summary>Graceful stop: SIGTERM, then waits for the process to exit. Returns the exit code; fails when it does not exit within <paramref name="timeout"/>.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        if (!process.HasExited)
        {
            if (SysKill(process.Id, 15) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (!process.HasExited)
                {
                    throw new InvalidOperationException($"kill(SIGTERM) failed with errno {errno}");
                }
            }
        }

        var limit = timeout ?? TimeSpan.FromSeconds(15);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"server did not exit within {limit} of SIGTERM (killed it); output:\n{Output}");
        }

        AppendOutput($"--- stopped (SIGTERM), exit code {process.ExitCode} ---");
        return process.ExitCode;
    }

    /// <summary>Starts the server again on the same port and data directory (stopping it gracefully first if it still runs).</summary>
    /// <param name="onceArgs">Extra arguments for this run only (e.g. --repair).</param>
    public async Task RestartAsync(params string[] onceArgs)
    {
        if (IsRunning)
        {
            int code = await StopAsync();
            if (code != 0)
            {
                throw new InvalidOperationException($"graceful stop before restart exited with {code}; output:\n{Output}");
            }
        }

        await RunAsync(onceArgs);
    }

    /// <summary>A StackExchange.Redis multiplexer connected to this server (with its password).</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync(Action<ConfigurationOptions>? configure = null, TextWriter? log = null, bool waitUntilConnected = true)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, Port } },
            Password = Password,
            AbortOnConnectFail = false,
            ConnectTimeout = 15_000,
            AsyncTimeout = 30_000,
            SyncTimeout = 30_000,
            ConnectRetry = 3,
        };
        configure?.Invoke(options);
        var muxer = await ConnectionMultiplexer.ConnectAsync(options, log);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (waitUntilConnected && !muxer.IsConnected && !cts.IsCancellationRequested)
        {
            await Task.Delay(20, CancellationToken.None);
        }

        return muxer;
    }

    /// <summary>Runs <c>redis-cli -h 127.0.0.1 -p P [-a pw --no-auth-warning] args...</c>; returns the exit code and output.</summary>
    public Task<CliResult> RedisCliRawAsync(IReadOnlyList<string> args, string? stdin = null, bool withPassword = true) =>
        RunRedisCliAsync(CliArgs(args, withPassword), stdin);

    /// <summary>Runs redis-cli with <paramref name="args"/> and returns its stdout; fails unless it exits 0.</summary>
    public async Task<string> RedisCli(params string[] args)
    {
        var result = await RedisCliRawAsync(args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr}\nstdout: {result.Stdout}\nserver output:\n{Output}");
        }

        return result.Stdout;
    }

    /// <summary>Opens a raw connection to the TLS port; by default it trusts the test CA and presents no certificate.</summary>
    public Task<RespConnection> OpenTlsAsync(TlsClientOptions? options = null) =>
        RespConnection.OpenTlsAsync(TlsPort, options ?? new TlsClientOptions(Certificates.Ca));

    /// <summary>The certificates of the TLS port.</summary>
    public TestCertificates Certificates => _settings.Tls ?? throw new InvalidOperationException("the server has no TLS port");

    /// <summary>Runs <c>redis-cli --tls --cacert CA -p TLSPORT [--cert C --key K] args...</c>.</summary>
    public Task<CliResult> RedisCliTlsAsync(IReadOnlyList<string> args, PemPair? clientCertificate = null, string? caFile = null)
    {
        var all = new List<string> { "-h", "127.0.0.1", "-p", TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tls", "--cacert", caFile ?? Certificates.CaFile };
        if (clientCertificate is not null)
        {
            all.AddRange(["--cert", clientCertificate.CertFile, "--key", clientCertificate.KeyFile]);
        }

        all.AddRange(args);
        return RunRedisCliAsync(all, null);
    }

    /// <summary>Opens a raw TCP connection (not authenticated).</summary>
    public Task<RespConnection> OpenRawAsync() => RespConnection.OpenAsync(Port);

    /// <summary>Opens a raw TCP connection and authenticates when a password is set.</summary>
    public async Task<RespConnection> OpenAuthenticatedRawAsync()
    {
        var connection = await RespConnection.OpenAsync(Port);
        if (Password is not null)
        {
            var reply = await connection.CommandAsync("AUTH", Password);
            if (reply.Type != EventflowDb.Protocol.RespType.SimpleString)
            {
                await connection.DisposeAsync();
                throw new InvalidOperationException($"AUTH failed: {RespText.Describe(reply)}");
            }
        }

        return connection;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _process = null;
        }

        if (_ownsDataDirectory && !KeepDataDirectory)
        {
            TryDeleteDirectory(DataDirectory);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"EventflowDB server on 127.0.0.1:{Port}, data {DataDirectory}";

    internal static async Task<CliResult> RunRedisCliAsync(IReadOnlyList<string> args, string? stdin)
    {
        var info = new ProcessStartInfo("redis-cli")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("redis-cli is not installed (apt-get install redis-tools); these tests need it.", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw new TimeoutException($"redis-cli {string.Join(' ', args)} did not finish within 30 s");
            }

            return new CliResult(process.ExitCode, await stdout, await stderr);
        }
    }

    private List<string> CliArgs(IReadOnlyList<string> args, bool withPassword)
    {
        var all = new List<string> { "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (withPassword && Password is not null)
        {
            all.AddRange(["-a", Password, "--no-auth-warning"]);
        }

        all.AddRange(args);
        return all;
    }

    private async Task RunAsync(IReadOnlyList<string>? onceArgs = null)
    {
        _runs++;
        AppendOutput($"--- run {_runs}: port {Port}, data {DataDirectory} ---");
        var args = new List<string>();
        var environment = new Dictionary<string, string>(_settings.Environment);
        string port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_settings.UseEnvironmentVariables)
        {
            environment["PORT"] = port;
            environment["DATA"] = DataDirectory;
            if (_settings.Password is not null)
            {
                environment["PASSWORD"] = _settings.Password;
            }
        }
        else
        {
            args.AddRange(["--port", _settings.TlsOnly ? "0" : port, "--data", DataDirectory]);
            if (_settings.Password is not null)
            {
                args.AddRange(["--password", _settings.Password]);
            }
        }

        if (_settings.Tls is { } tls)
        {
            args.AddRange(["--tls-port", TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tls-cert-file", tls.Server.CertFile, "--tls-key-file", tls.Server.KeyFile, "--tls-ca-cert-file", tls.CaFile]);
        }

        if (HttpPort != 0)
        {
            args.AddRange(["--http-port", HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        args.AddRange(_settings.ExtraArgs);
        args.AddRange(onceArgs ?? []);
        _process?.Dispose();
        var process = CreateProcess(args, environment, DataDirectory);
        process.OutputDataReceived += (_, e) => AppendOutput(e.Data);
        process.ErrorDataReceived += (_, e) => AppendOutput(e.Data is null ? null : "[stderr] " + e.Data);
        StartOrFail(process);
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await WaitUntilReadyAsync(process);
    }

    private async Task WaitUntilReadyAsync(Process process)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        Exception? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                throw new ServerStartException($"server exited with code {process.ExitCode} before answering PING; output:\n{Output}", process.ExitCode);
            }

            try
            {
                if (await TryPingAsync())
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or ProtocolViolationException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
            {
                lastError = e;
            }

            await Task.Delay(50);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        throw new ServerStartException($"server did not answer PING with +PONG within {StartTimeout} (last error: {lastError?.Message}); output:\n{Output}");
    }

    private async Task<bool> TryPingAsync()
    {
        await using var connection = _settings is { TlsOnly: true, Tls: { } tls }
            ? await RespConnection.OpenTlsAsync(TlsPort, new TlsClientOptions(tls.Ca) { ClientCertificate = tls.Client.Load() }, TimeSpan.FromSeconds(5))
            : await RespConnection.OpenAsync(Port, TimeSpan.FromSeconds(2));
        if (Password is not null)
        {
            await connection.SendCommandAsync("AUTH", Password);
        }

        await connection.SendCommandAsync("PING");
        if (Password is not null)
        {
            var auth = await connection.ReadReplyAsync(TimeSpan.FromSeconds(5));
            if (auth.Type != EventflowDb.Protocol.RespType.SimpleString)
            {
                throw new ProtocolViolationException($"AUTH answered {RespText.Describe(auth)}");
            }
        }

        var pong = await connection.ReadReplyAsync(TimeSpan.FromSeconds(5));

        // A server whose users come from elsewhere (--password-file, --aclfile) answers without knowing the password: it is up.
        return (pong.Type == EventflowDb.Protocol.RespType.SimpleString && pong.Text == "PONG")
            || (Password is null && pong.Text == "NOAUTH Authentication required.");
    }

    private void AppendOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.AppendLine(line);
        }
    }

    private static Process CreateProcess(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        if (!File.Exists(ServerDll))
        {
            throw new FileNotFoundException($"server not built: {ServerDll} is missing (build with dotnet test tests/EventflowDb.Tests)");
        }

        var info = new ProcessStartInfo(DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(ServerDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var name in ServerVariables)
        {
            info.Environment.Remove(name);
        }

        info.Environment["HTTP_PORT"] = "0";

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new Process { StartInfo = info };
    }

    private static void StartOrFail(Process process)
    {
        if (!process.Start())
        {
            throw new InvalidOperationException("could not start the server process");
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EventflowDb.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no EventflowDb.sln above {AppContext.BaseDirectory}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}

/// <summary>The server did not come up.</summary>
public sealed class ServerStartException(string message, int? exitCode = null) : Exception(message)
{
    /// <summary>The server's exit status when it exited instead of answering, else null.</summary>
    public int? ExitCode { get; } = exitCode;
}

/// <summary>Outcome of one redis-cli run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout split into lines, without the trailing empty line.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            string[] lines = Stdout.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            return lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
        }
    }
}
