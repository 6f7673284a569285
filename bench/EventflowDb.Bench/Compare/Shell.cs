using System.Diagnostics;

namespace EventflowDb.Bench.Compare;

/// <summary>Runs external programs.</summary>
internal static class Shell
{
    /// <summary>Runs a program to completion and returns its exit code and standard output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        string output = await stdout.ConfigureAwait(false);
        string errors = await stderr.ConfigureAwait(false);
        return (process.ExitCode, output + errors);
    }

    public static bool Exists(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, program)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Installs Debian's redis-server (which brings redis-benchmark) when missing.</summary>
    public static async Task EnsureRedisAsync()
    {
        if (Exists("redis-server") && Exists("redis-benchmark"))
        {
            return;
        }

        Console.WriteLine("Installing redis-server (apt-get)...");
        var update = await RunAsync("apt-get", ["update"]).ConfigureAwait(false);
        var install = await RunAsync("apt-get", ["install", "-y", "redis-server"]).ConfigureAwait(false);
        if (update.ExitCode != 0 || install.ExitCode != 0 || !Exists("redis-server"))
        {
            throw new InvalidOperationException("Could not install redis-server: " + install.Output);
        }
    }

    /// <summary>Resident set size of a process in bytes (VmRSS), or 0 when unknown.</summary>
    public static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
