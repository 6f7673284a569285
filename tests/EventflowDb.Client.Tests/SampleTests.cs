using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>The BankAccount sample runs against a real server.</summary>
public sealed class SampleTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly string SampleDll =
        Path.Combine(ServerProcess.RepoRoot, "samples", "BankAccount", "bin", ServerProcess.Configuration, "net10.0", "BankAccount.dll");

    [Fact]
    public async Task The_bank_account_sample_runs_loads_from_its_snapshot_closes_the_account_and_exits_0()
    {
        var server = await StartServerAsync();
        var (exitCode, stdout, stderr) = await RunSampleAsync(Connect.ConnectionString(server));
        TestOutput.WriteLine(stdout);
        TestOutput.WriteLine(stderr);

        Assert.True(exitCode == 0, $"exit code {exitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.Contains("Opened for Ada", stdout, StringComparison.Ordinal);
        Assert.Contains("Duplicate: command 'payroll-2025-01' was already stored as version 2", stdout, StringComparison.Ordinal);
        Assert.Contains("Conflict: expected 3, stream is at 4; reloading and retrying", stdout, StringComparison.Ordinal);
        Assert.Contains("Rejected: Insufficient funds", stdout, StringComparison.Ordinal);

        // A snapshot every 3 events: after the third (version 2) and the sixth (version 5).
        Assert.Contains("Snapshot saved at version 2", stdout, StringComparison.Ordinal);
        Assert.Contains("Loaded from the snapshot at version 2 and 2 events after it: Ada has 100", stdout, StringComparison.Ordinal);
        Assert.Contains("Snapshot saved at version 5", stdout, StringComparison.Ordinal);

        // Closing: refused while money is left, then the stream is deleted.
        Assert.Contains("still holds 100: withdraw it before closing the account", stdout, StringComparison.Ordinal);
        Assert.Contains("Withdrew the rest, balance 0", stdout, StringComparison.Ordinal);
        Assert.Matches(@"Closed account-[0-9a-f]{32} at version 6: its stream is deleted", stdout);
        Assert.Contains("After closing: deleted True, 0 events readable", stdout, StringComparison.Ordinal);

        await using var client = await Connect.ClientAsync(server);
        Assert.Empty(await client.ListStreamsAsync().CollectAsync());
        string closed = Regex.Match(stdout, "account (account-[0-9a-f]{32})").Groups[1].Value;
        Assert.DoesNotContain(await client.ReadAllAsync().CollectAsync(), e => e.Stream == closed);
        var metadata = await client.GetStreamMetadataAsync(closed);
        Assert.True(metadata.Deleted);
        Assert.Null(await client.GetSnapshotAsync<object>(closed));
    }

    [Fact]
    public async Task The_sample_exits_2_when_no_server_answers()
    {
        int port = ServerProcess.FreePort();
        var (exitCode, _, stderr) = await RunSampleAsync($"127.0.0.1:{port},connectTimeout=2000,connectRetry=1");
        Assert.Equal(2, exitCode);
        Assert.Contains("Cannot connect", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunSampleAsync(string connectionString)
    {
        Assert.True(File.Exists(SampleDll), $"the sample is not built: {SampleDll}");
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(SampleDll);
        info.ArgumentList.Add(connectionString);
        info.Environment.Remove("EVENTFLOWDB");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("the sample did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the sample did not exit within 60 s; output:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
