using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>SIGTERM: the process exits 0 promptly and loses nothing.</summary>
public sealed class ShutdownTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Sigterm_on_an_idle_server_exits_0()
    {
        var server = await StartServerAsync();
        int code = await server.StopAsync(TimeSpan.FromSeconds(10));
        Assert.True(code == 0, $"exit code {code}");
    }

    [Fact]
    public async Task Sigterm_with_idle_clients_connected_exits_0_and_keeps_the_data()
    {
        var server = await StartServerAsync();
        var written = await RestartTests.WriteSomeAsync(server, "sigterm", 20);
        await using var muxer = await server.ConnectAsync();
        Assert.True(muxer.IsConnected);
        await using var raw = await server.OpenRawAsync();
        Assert.Equal("PONG", (await raw.CommandAsync("PING")).Str());
        await using var half = await server.OpenRawAsync();
        await half.SendAsync("*3\r\n$3\r\nGET\r\n");

        int code = await server.StopAsync(TimeSpan.FromSeconds(10));
        Assert.True(code == 0, $"exit code {code}");
        Assert.True(await raw.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "raw connection still open after the server exited");

        await server.RestartAsync();
        var snapshot = await RestartTests.Snapshot.ReadAsync(server);
        Assert.Equal(written.Select(e => e.Raw), snapshot.Log);
    }

    [Fact]
    public async Task Sigterm_under_load_exits_0_and_keeps_every_acknowledged_add_whole()
    {
        var server = await StartServerAsync();
        var workload = new Workload(["term-a", "term-b", Guid.NewGuid().ToString()]);
        using var stop = new CancellationTokenSource();
        var writing = workload.RunAsync(server, "t", 4, stop.Token);
        await Task.Delay(1000);
        int code = await server.StopAsync(TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        int acked = await writing;
        Assert.True(code == 0, $"exit code {code}");
        Assert.True(acked > 0, "no ADD was acknowledged before SIGTERM");

        await server.RestartAsync();
        var log = await workload.VerifyAsync(server);
        TestOutput.WriteLine($"{acked} ADDs acknowledged, {workload.Sent.Count} sent, {workload.Rejected.Count} answered with an error, {log.Count} events in the log");

        // Clients may lose the connection during shutdown, but an in-flight ADD must not fail with an internal error.
        Assert.True(workload.Problems.IsEmpty, $"{workload.Problems.Count} unexpected replies during shutdown, e.g.:\n{string.Join("\n", workload.Problems.Take(5))}");
        var snapshot = await RestartTests.Snapshot.ReadAsync(server);
        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        snapshot.AssertSameStore(await RestartTests.Snapshot.ReadAsync(server));
    }
}
