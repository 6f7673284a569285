using System.Diagnostics;
using System.Text;

namespace EventflowDb.Tests.Harness;

/// <summary>Runs the efdb command-line tool (tools/EventflowDb.Cli) as a real process: <c>dotnet efdb.dll args…</c>.</summary>
public static class EfdbProcess
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// efdb.dll as the project reference copies it next to the test assembly (with its runtimeconfig), else in the CLI
    /// project's own output of the same configuration.
    /// </summary>
    public static string Dll { get; } = FindDll();

    /// <summary>Runs efdb with <paramref name="args"/>, feeding <paramref name="stdin"/> (none: an empty stdin), until it exits.</summary>
    public static async Task<CliResult> RunAsync(IReadOnlyList<string> args, string? stdin = null, TimeSpan? timeout = null)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"efdb {string.Join(' ', args)} did not exit within {timeout ?? DefaultTimeout}; stderr:\n{await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs efdb with these arguments.</summary>
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, null, null);

    /// <summary>Starts efdb with redirected stdin, stdout and stderr (for commands that run until stopped, such as tail).</summary>
    public static Process Start(IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        info.ArgumentList.Add(Dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("EFDB_PASSWORD");
        return Process.Start(info) ?? throw new InvalidOperationException("efdb did not start");
    }

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string FindDll()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "efdb.dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "efdb.runtimeconfig.json")))
        {
            return beside;
        }

        string built = Path.Combine(ServerProcess.RepoRoot, "tools", "EventflowDb.Cli", "bin", ServerProcess.Configuration, "net10.0", "efdb.dll");
        return File.Exists(built) ? built : throw new FileNotFoundException($"efdb is not built: neither {beside} nor {built} exists (build tests/EventflowDb.Tests)");
    }
}
