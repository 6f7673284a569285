using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// The server under soak: <c>dotnet EventflowDb.Server.dll</c> on a loopback port and a temporary data directory, with
/// any extra flags. Its output goes to a log file; lines at Warning or above are counted and a few kept for the report.
/// </summary>
internal sealed class SoakServer : IDisposable
{
    private const int KeptLines = 8;
    private readonly ProcessStartInfo _info;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly List<string> _firstWarnings = [];
    private readonly Queue<string> _lastWarnings = new();
    private Process? _process;
    private long _warnings;

    public SoakServer(string serverDll, string dataDirectory, int port, IEnumerable<string> extraArgs, string logPath)
    {
        Port = port;
        _info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[serverDll, "--port", port.ToString(CultureInfo.InvariantCulture), "--data", dataDirectory, "--log-level", "information", "--http-port", "0"])
        {
            _info.ArgumentList.Add(a);
        }

        foreach (var a in extraArgs)
        {
            _info.ArgumentList.Add(a);
        }

        _log = new StreamWriter(logPath) { AutoFlush = true };
    }

    public int Port { get; }

    public int Pid => _process?.Id ?? 0;

    public bool HasExited => _process is { HasExited: true };

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>The command line, for the report.</summary>
    public string CommandLine => "dotnet " + string.Join(' ', _info.ArgumentList.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));

    /// <summary>Log lines at Warning, Error or Fatal so far.</summary>
    public long Warnings => Interlocked.Read(ref _warnings);

    /// <summary>The first and the last few Warning-or-above lines (cut to 300 characters).</summary>
    public IReadOnlyList<string> WarningExamples()
    {
        lock (_lock)
        {
            return [.. _firstWarnings, .. _lastWarnings.Where(l => !_firstWarnings.Contains(l))];
        }
    }

    public async Task StartAsync()
    {
        _process = Process.Start(_info) ?? throw new InvalidOperationException("Cannot start dotnet");
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with {_process.ExitCode} while starting (see its log)");
            }

            if (await TryPingAsync().ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        throw new TimeoutException("The server did not answer PING within 2 minutes");
    }

    /// <summary>SIGTERM, then waits up to a minute; returns how long the graceful stop took, or null when it had to be killed.</summary>
    public async Task<TimeSpan?> StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return TimeSpan.Zero;
        }

        var watch = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return watch.Elapsed;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            return null;
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        lock (_lock)
        {
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (string.IsNullOrEmpty(line))
        {
            return;
        }

        lock (_lock)
        {
            _log.WriteLine(line);
            if (line.Contains(" WRN] ", StringComparison.Ordinal) || line.Contains(" ERR] ", StringComparison.Ordinal) || line.Contains(" FTL] ", StringComparison.Ordinal))
            {
                _warnings++;
                string kept = line.Length > 300 ? line[..300] + "..." : line;
                if (_firstWarnings.Count < KeptLines / 2)
                {
                    _firstWarnings.Add(kept);
                }
                else
                {
                    _lastWarnings.Enqueue(kept);
                    if (_lastWarnings.Count > KeptLines / 2)
                    {
                        _lastWarnings.Dequeue();
                    }
                }
            }
        }
    }

    private async Task<bool> TryPingAsync()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync("127.0.0.1", Port, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var buffer = new byte[64];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            return n >= 5 && buffer.AsSpan(0, 5).SequenceEqual("+PONG"u8);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
