using System.Globalization;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>Everything the store reports is the same after a graceful or a kill -9 restart.</summary>
public sealed class RestartTests(ITestOutputHelper output) : IntegrationTest(output)
{
    /// <summary>Counts, checksum, the whole log and the stream list: what must survive a restart.</summary>
    internal sealed record Snapshot(StoreState State, List<string> Log, List<string> Streams, long EventCountEstimate, long StreamCountEstimate)
    {
        public static async Task<Snapshot> ReadAsync(ServerProcess server)
        {
            await using var c = await server.OpenAuthenticatedRawAsync();
            var state = await StoreState.ReadAsync(c);
            var log = await c.ReadWholeLogAsync();
            EventAssert.WholeLog(log);
            Assert.Equal(state.Events, log.Count);
            Assert.Equal(log.Count == 0 ? StoredEvent.ZeroUlid : log[^1].Id, state.LastId);
            var streams = await c.ListAllStreamsAsync();
            Assert.Equal(state.Streams, streams.Count);
            Assert.Equal(state.Streams, log.Select(e => e.Stream).Distinct().Count());
            return new Snapshot(
                state,
                [.. log.Select(e => e.Raw)],
                streams,
                (await c.CommandAsync("EVENTCOUNTEST")).Int(),
                (await c.CommandAsync("STREAMCOUNTEST")).Int());
        }

        public void AssertSameStore(Snapshot other)
        {
            Assert.Equal(State, other.State);
            Assert.Equal(Log.Count, other.Log.Count);
            for (int i = 0; i < Log.Count; i++)
            {
                Assert.True(Log[i] == other.Log[i], $"event {i} differs:\n{Log[i]}\n{other.Log[i]}");
            }

            Assert.Equal(Streams, other.Streams);
        }
    }

    internal static async Task<List<StoredEvent>> WriteSomeAsync(ServerProcess server, string prefix, int adds)
    {
        var written = new List<StoredEvent>();
        await using var c = await server.OpenAuthenticatedRawAsync();
        for (int i = 0; i < adds; i++)
        {
            string stream = $"{prefix}-{i % 4}";
            var args = new List<string> { "ADD", stream, "any" };
            for (int j = 0; j <= i % 5; j++)
            {
                args.AddRange(["T" + j, $$"""{"i":{{i}},"j":{{j}},"s":"{{new string('x', i * 10)}}"}"""]);
            }

            written.AddRange(await c.EventsAsync([.. args]));
        }

        return written;
    }

    [Fact]
    public async Task An_empty_store_reports_zeroes()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenRawAsync();
        Assert.Equal([StoredEvent.ZeroUlid, "0000000000000000"], (await c.CommandAsync("CHECKSUM")).Strings());
        Assert.Equal(0, (await c.CommandAsync("EVENTCOUNT")).Int());
        Assert.Equal(0, (await c.CommandAsync("STREAMCOUNT")).Int());
        Assert.Equal(0, (await c.CommandAsync("EVENTCOUNTEST")).Int());
        Assert.Equal(0, (await c.CommandAsync("STREAMCOUNTEST")).Int());
        Assert.Equal(0, (await c.CommandAsync("DBSIZE")).Int());
        Assert.Empty((await c.CommandAsync("GETALL")).Arr());
        Assert.Empty((await c.CommandAsync("LISTSTREAMS")).Arr());

        // And still after a restart of the empty store.
        await server.RestartAsync();
        await using var d = await server.OpenRawAsync();
        Assert.Equal([StoredEvent.ZeroUlid, "0000000000000000"], (await d.CommandAsync("CHECKSUM")).Strings());
        var first = Assert.Single(await d.EventsAsync("ADD", "first", "no_stream", "T", "x"));
        Assert.Equal(0, first.Position);
        Assert.Equal(0, first.Version);
    }

    [Fact]
    public async Task Graceful_restart_keeps_everything()
    {
        var server = await StartServerAsync();
        var written = await WriteSomeAsync(server, Guid.NewGuid().ToString("N"), 30);
        var before = await Snapshot.ReadAsync(server);
        Assert.Equal(written.Select(e => e.Raw), before.Log);

        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        var after = await Snapshot.ReadAsync(server);
        before.AssertSameStore(after);

        // Writing continues where it stopped.
        var more = await WriteSomeAsync(server, "more", 5);
        Assert.Equal(before.Log.Count, more[0].Position);
        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        var third = await Snapshot.ReadAsync(server);
        Assert.Equal([.. before.Log, .. more.Select(e => e.Raw)], third.Log);
    }

    [Fact]
    public async Task Kill_9_restart_keeps_every_acknowledged_event()
    {
        var server = await StartServerAsync();
        var written = await WriteSomeAsync(server, Guid.NewGuid().ToString("N"), 30);
        var before = await Snapshot.ReadAsync(server);
        Assert.Equal(written.Select(e => e.Raw), before.Log);

        await server.KillAsync();
        await server.RestartAsync();
        var after = await Snapshot.ReadAsync(server);
        before.AssertSameStore(after);

        // Recovery leaves the estimates exact.
        Assert.Equal(after.State.Events, after.EventCountEstimate);
        Assert.Equal(after.State.Streams, after.StreamCountEstimate);

        var more = await WriteSomeAsync(server, "after-kill", 3);
        Assert.Equal(before.Log.Count, more[0].Position);
        await server.KillAsync();
        await server.RestartAsync();
        Assert.Equal([.. before.Log, .. more.Select(e => e.Raw)], (await Snapshot.ReadAsync(server)).Log);
    }

    [Fact]
    public async Task Stream_versions_continue_after_restart()
    {
        var server = await StartServerAsync();
        string stream = Guid.NewGuid().ToString();
        await using (var c = await server.OpenRawAsync())
        {
            await c.EventsAsync("ADD", stream, "no_stream", "A", "1", "B", "2");
        }

        await server.KillAsync();
        await server.RestartAsync();
        await using (var c = await server.OpenRawAsync())
        {
            Assert.Equal("WRONGVERSION concurrent stream modification (expected 1, stream is at 2)", await c.ErrorAsync("ADD", stream, "1", "C", "3"));
            EventAssert.StartsWith("WRONGVERSION concurrent stream modification", await c.ErrorAsync("ADD", stream, "no_stream", "C", "3"));
            var next = await c.EventsAsync("ADD", stream, "2", "C", "3");
            Assert.Equal(2, Assert.Single(next).Version);
            EventAssert.WholeStream(await c.ReadWholeStreamAsync(stream), stream);
        }
    }

    [Fact]
    public async Task Estimated_counts_catch_up_after_the_checkpoint_interval()
    {
        var server = await StartServerAsync("--checkpoint-interval", "1");
        await using var c = await server.OpenRawAsync();
        var args = new List<string> { "ADD", "est-a", "any" };
        for (int i = 0; i < 10; i++)
        {
            args.AddRange(["T", i.ToString(CultureInfo.InvariantCulture)]);
        }

        await c.EventsAsync([.. args]);
        await c.EventsAsync("ADD", "est-b", "any", "T", "x", "T", "y");
        Assert.Equal(12, (await c.CommandAsync("EVENTCOUNT")).Int());
        Assert.Equal(2, (await c.CommandAsync("STREAMCOUNT")).Int());

        long events = -1;
        long streams = -1;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            events = (await c.CommandAsync("EVENTCOUNTEST")).Int();
            streams = (await c.CommandAsync("STREAMCOUNTEST")).Int();
            Assert.InRange(events, 0, 12);
            Assert.InRange(streams, 0, 2);
            if (events == 12 && streams == 2)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(events == 12 && streams == 2, $"after 10 s with --checkpoint-interval 1: EVENTCOUNTEST {events} (want 12), STREAMCOUNTEST {streams} (want 2)");
    }

    [Fact]
    public async Task Size_on_disk_grows_with_the_log()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenRawAsync();
        long before = (await c.CommandAsync("SIZE")).Arr()[0].Int();
        string payload = new('p', 100_000);
        for (int i = 0; i < 20; i++)
        {
            await c.EventsAsync("ADD", "size", "any", "T", payload);
        }

        // SIZE may be measured at most once a second: give it a fresh measurement.
        await Task.Delay(1500);
        var size = (await c.CommandAsync("SIZE")).Arr();
        long after = size[0].Int();
        Assert.True(after >= 2_000_000 && after >= before, $"SIZE went from {before} to {after} bytes after writing 2 MB");
        Assert.Matches(@"^\d+(\.\d+)? ?([KMGT]i?)?B$", size[1].Str());
    }
}
