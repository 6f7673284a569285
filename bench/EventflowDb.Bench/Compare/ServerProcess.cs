using System.Diagnostics;
using System.Net.Sockets;

namespace EventflowDb.Bench.Compare;

/// <summary>A server under test (EventflowDB or redis-server) started as a child process.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly string _file;
    private readonly string[] _args;
    private Process? _process;

    private ServerProcess(string name, string file, string[] args, int port)
    {
        Name = name;
        _file = file;
        _args = args;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    /// <summary>True for redis-server, false for EventflowDB.</summary>
    public bool IsRedis => Name == "Redis";

    public int Pid => _process?.Id ?? 0;

    public long ResidentBytes => Shell.ResidentBytes(Pid);

    public static ServerProcess Eventflow(string serverDll, string dataDirectory, int port, string fsync)
        => new("EventflowDB", "dotnet", [serverDll, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", dataDirectory, "--log-level", "warning", "--fsync", fsync, "--checkpoint-interval", "5", "--http-port", "0"], port);

    /// <summary>A member of a local cluster (issue 16): <paramref name="members"/> lists every member's peer address.</summary>
    public static ServerProcess EventflowMember(string serverDll, string dataDirectory, int port, int clusterPort, string members, string replication = "sync")
        => new("EventflowDB", "dotnet", [serverDll, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", dataDirectory, "--log-level", "warning", "--checkpoint-interval", "5", "--http-port", "0", "--cluster-port", clusterPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cluster-members", members, "--replication", replication], port);

    /// <summary>SIGKILL, no wait for anything but the exit.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    public static ServerProcess Redis(string dataDirectory, int port, string appendfsync)
        => new("Redis", "redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", dataDirectory, "--appendonly", "yes", "--appendfsync", appendfsync, "--save", "", "--daemonize", "no", "--protected-mode", "no", "--bind", "127.0.0.1", "--logfile", Path.Combine(dataDirectory, "redis.log")], port);

    /// <summary>Starts the process and returns the time until it answered PING with PONG.</summary>
    public async Task<TimeSpan> StartAsync()
    {
        var info = new ProcessStartInfo(_file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in _args)
        {
            info.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        _process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {_file}");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[{Name}] {e.Data}");
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        while (watch.Elapsed < TimeSpan.FromMinutes(5))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} while starting");
            }

            if (TryPing())
            {
                return watch.Elapsed;
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        throw new TimeoutException($"{Name} did not answer PING");
    }

    /// <summary>Graceful stop (SIGTERM) and wait.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        await Shell.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
        }

        _process?.Dispose();
    }

    private bool TryPing()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect("127.0.0.1", Port);
            socket.ReceiveTimeout = 2000;
            socket.Send("*1\r\n$4\r\nPING\r\n"u8);
            var buffer = new byte[64];
            int n = socket.Receive(buffer);
            return n >= 5 && buffer.AsSpan(0, 5).SequenceEqual("+PONG"u8);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
