using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EventflowDb.Protocol;

namespace EventflowDb.Bench.Chaos;

/// <summary>One cluster member as a child process: client port, peer identity (a proxy port) and real peer port, its own data directory and log file.</summary>
internal sealed partial class ChaosMember : IDisposable
{
    private readonly string _dll;
    private readonly string _members;
    private readonly IReadOnlyList<string> _extraArgs;
    private readonly Lock _logLock = new();
    private readonly StreamWriter _log;
    private Process? _process;

    public ChaosMember(int index, string dll, string directory, int clientPort, int frontPort, int backPort, string members, IReadOnlyList<string> extraArgs)
    {
        Index = index;
        _dll = dll;
        ClientPort = clientPort;
        FrontPort = frontPort;
        BackPort = backPort;
        _members = members;
        _extraArgs = extraArgs;
        DataDirectory = Path.Combine(directory, $"n{index}");
        LogPath = Path.Combine(directory, $"member-{index}.log");
        _log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
    }

    public int Index { get; }

    public int ClientPort { get; }

    public int FrontPort { get; }

    public int BackPort { get; }

    public string DataDirectory { get; }

    public string LogPath { get; }

    public int Pid => _process?.Id ?? 0;

    /// <summary>Running (possibly frozen).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Frozen with SIGSTOP.</summary>
    public bool Frozen { get; private set; }

    /// <summary>Starts the process (returns as soon as it runs; <see cref="WaitReadyAsync"/> waits for PING).</summary>
    public void Start()
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[]
        {
            _dll, "--port", Text(ClientPort), "--data", DataDirectory, "--http-port", "0", "--checkpoint-interval", "5",
            "--cluster-port", Text(FrontPort), "--cluster-listen", Text(BackPort), "--cluster-members", _members, "--log-level", "information",
        }.Concat(_extraArgs))
        {
            info.ArgumentList.Add(a);
        }

        Write($"--- start {DateTime.UtcNow:HH:mm:ss.fff} ---");
        _process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Frozen = false;
    }

    /// <summary>Waits until the member answers PING; false when it exited or did not answer in time.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!IsRunning)
            {
                return false;
            }

            try
            {
                var reply = await ChaosClient.CommandAsync(ClientPort, TimeSpan.FromSeconds(2), "PING").ConfigureAwait(false);
                if (reply.Type == RespType.SimpleString && reply.Text == "PONG")
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>kill -9, waiting for the exit.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            _ = SysKill(p.Id, 9);
            p.WaitForExit();
            Write($"--- killed (SIGKILL) {DateTime.UtcNow:HH:mm:ss.fff} ---");
        }

        Frozen = false;
    }

    public void Freeze()
    {
        if (_process is { HasExited: false } p && SysKill(p.Id, 19) == 0)
        {
            Frozen = true;
            Write($"--- SIGSTOP {DateTime.UtcNow:HH:mm:ss.fff} ---");
        }
    }

    public void Thaw()
    {
        if (_process is { HasExited: false } p && SysKill(p.Id, 18) == 0)
        {
            Write($"--- SIGCONT {DateTime.UtcNow:HH:mm:ss.fff} ---");
        }

        Frozen = false;
    }

    /// <summary>Deletes everything in the data directory (the member must be down).</summary>
    public void Wipe()
    {
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }

        Directory.CreateDirectory(DataDirectory);
        Write($"--- data directory wiped {DateTime.UtcNow:HH:mm:ss.fff} ---");
    }

    public void Dispose()
    {
        if (_process is { HasExited: false } p)
        {
            _ = SysKill(p.Id, 18);
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }

        _process?.Dispose();
        lock (_logLock)
        {
            _log.Dispose();
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
