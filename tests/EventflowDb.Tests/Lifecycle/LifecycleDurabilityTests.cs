using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>Every lifecycle change survives a graceful restart (snapshot file) and a kill -9 after its acknowledgement (log replay).</summary>
public sealed class LifecycleDurabilityTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly string[] Kinds = ["deleted", "truncated", "limited", "snapshotted", "forgotten"];

    /// <summary>What the lifecycle changes of <paramref name="streams"/> look like from outside: every read they affect.</summary>
    private static async Task<List<string>> ViewAsync(ServerProcess server, IReadOnlyList<string> streams)
    {
        await using var c = await server.OpenRawAsync();
        var state = await StoreState.ReadAsync(c);
        var view = new List<string> { state.ToString() };
        view.AddRange((await c.ReadWholeLogAsync()).Select(e => e.Raw));
        view.AddRange((await c.CommandAsync("LISTSTREAMS", "0", "10000")).Strings());
        foreach (string stream in streams)
        {
            view.AddRange((await c.EventsAsync("GET", stream)).Select(e => e.Raw));
            view.Add((await c.CommandAsync("STREAMMETA", stream)).Text ?? "nil");
            view.Add((await c.CommandAsync("SNAPSHOT", "GET", stream)).Text ?? "nil");
        }

        return view;
    }

    /// <summary>After recovery the estimates leave out hidden events and deleted streams as the exact counts do.</summary>
    private static async Task AssertEstimatesExactAsync(ServerProcess server)
    {
        await using var c = await server.OpenRawAsync();
        Assert.Equal((await c.CommandAsync("EVENTCOUNT")).Int(), (await c.CommandAsync("EVENTCOUNTEST")).Int());
        Assert.Equal((await c.CommandAsync("STREAMCOUNT")).Int(), (await c.CommandAsync("STREAMCOUNTEST")).Int());
    }

    /// <summary>Writes five streams and gives each one lifecycle change; returns the streams.</summary>
    private static async Task<List<string>> ChangeAsync(ServerProcess server, string prefix)
    {
        var streams = Kinds.Select(s => $"{prefix}-{s}").ToList();
        await using var c = await server.OpenRawAsync();
        foreach (string stream in streams)
        {
            await c.AddAsync(stream, 4);
        }

        await c.OkAsync("DELETE", streams[0], "4");
        await c.OkAsync("TRUNCATE", streams[1], "3");
        await c.OkAsync("STREAMMETA", streams[2], "SET", "maxCount", "1", "maxAge", "86400000");
        await c.OkAsync("SNAPSHOT", "SAVE", streams[3], "2", """{"state":"as of 2"}""");
        await c.OkAsync("SNAPSHOT", "SAVE", streams[4], "1", """{"gone":true}""");
        await c.OkAsync("FORGET", streams[4]);
        Assert.Empty(await c.VersionsAsync(streams[0]));
        Assert.Equal([3L], await c.VersionsAsync(streams[1]));
        Assert.Equal([3L], await c.VersionsAsync(streams[2]));
        return streams;
    }

    [Fact]
    public async Task Lifecycle_state_survives_kill_9_and_graceful_restarts()
    {
        var server = await StartServerAsync();
        var streams = await ChangeAsync(server, Unique("a"));
        var before = await ViewAsync(server, streams);

        // kill -9 right after the acknowledgements: the control records are replayed from the log.
        await server.KillAsync();
        await server.RestartAsync();
        Assert.Equal(before, await ViewAsync(server, streams));
        await AssertEstimatesExactAsync(server);

        // A graceful stop checkpoints: the state comes back from the snapshot file.
        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        Assert.Equal(before, await ViewAsync(server, streams));
        await AssertEstimatesExactAsync(server);

        // More changes on top, then kill -9 again: snapshot state plus replayed control records.
        var more = await ChangeAsync(server, Unique("b"));
        await using (var c = await server.OpenRawAsync())
        {
            Assert.Equal(4, (await c.EventsAsync("ADD", streams[0], "4", "T", "{}"))[0].Version);
            await c.OkAsync("TRUNCATE", streams[3], "4");
        }

        var all = streams.Concat(more).ToList();
        var later = await ViewAsync(server, all);
        await server.KillAsync();
        await server.RestartAsync();
        Assert.Equal(later, await ViewAsync(server, all));

        // The offline verifier reads control records as recovery does: same checksum, every log event counted.
        string checksum;
        await using (var c = await server.OpenRawAsync())
        {
            checksum = (await c.CommandAsync("CHECKSUM")).Strings()[1];
        }

        Assert.Equal(0, await server.StopAsync());
        var verify = await EfdbProcess.RunAsync("verify", "--data", server.DataDirectory);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        Assert.Contains(checksum, verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("41", verify.Stdout, StringComparison.Ordinal); // 2 x 5 streams x 4 events + 1
    }
}
