using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>message_id dedupe: permanent, per stream, whole batches only.</summary>
public sealed class IdempotencyTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    /// <summary>A JSON ADD of events with the given message ids (null: none) and optional version.</summary>
    internal static string Batch(string stream, object? version, params string?[] messageIds)
    {
        var events = messageIds.Select((id, i) => id is null
            ? (object)new { type = "T" + i, data = new { i } }
            : new { type = "T" + i, data = new { i, id }, message_id = id }).ToList();
        return version is null
            ? JsonSerializer.Serialize(new { stream, events })
            : JsonSerializer.Serialize(new { stream, version, events });
    }

    [Fact]
    public async Task The_same_batch_twice_returns_the_first_events_and_writes_nothing()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("idem");
        var first = await c.EventsAsync("ADD", Batch(stream, "no_stream", "m1", "m2", "m3"));
        Assert.Equal(["m1", "m2", "m3"], first.Select(e => e.MessageId));
        EventAssert.OneAdd(first, stream, 0);
        var state = await StoreState.ReadAsync(c);

        foreach (object? version in new object?[] { null, "no_stream", "any", "exists", 0, 3, 7 })
        {
            var again = await c.EventsAsync("ADD", Batch(stream, version, "m1", "m2", "m3"));
            Assert.Equal(first.Select(e => e.Raw), again.Select(e => e.Raw));
            Assert.Equal(state, await StoreState.ReadAsync(c));
        }

        Assert.Equal(first.Select(e => e.Raw), (await c.EventsAsync("GET", stream)).Select(e => e.Raw));
    }

    [Fact]
    public async Task A_repeat_of_a_subset_returns_those_events()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("idem-subset");
        var first = await c.EventsAsync("ADD", Batch(stream, "any", "a", "b", "c"));
        var state = await StoreState.ReadAsync(c);
        var b = await c.EventsAsync("ADD", Batch(stream, "any", "b"));
        Assert.Equal([first[1].Raw], b.Select(e => e.Raw));
        Assert.Equal(state, await StoreState.ReadAsync(c));
    }

    [Fact]
    public async Task A_partial_repeat_is_a_wrong_version_and_writes_nothing()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("idem-partial");
        await c.EventsAsync("ADD", Batch(stream, "any", "p1", "p2"));
        var state = await StoreState.ReadAsync(c);

        EventAssert.StartsWith("WRONGVERSION", await c.ErrorAsync("ADD", Batch(stream, "any", "p2", "p3")));
        EventAssert.StartsWith("WRONGVERSION", await c.ErrorAsync("ADD", Batch(stream, 2, "p3", "p1")));
        EventAssert.StartsWith("WRONGVERSION", await c.ErrorAsync("ADD", Batch(stream, null, "new", "p1", "newer")));
        Assert.Equal(state, await StoreState.ReadAsync(c));
        Assert.Equal(2, (await c.EventsAsync("GET", stream)).Count);

        // The fresh ids were not consumed by the rejected batches.
        var fresh = await c.EventsAsync("ADD", Batch(stream, 2, "p3", "new", "newer"));
        EventAssert.OneAdd(fresh, stream, 2);
    }

    [Fact]
    public async Task Message_ids_are_per_stream()
    {
        await using var c = await Server.OpenRawAsync();
        string a = Unique("idem-a");
        string b = Unique("idem-b");
        var inA = await c.EventsAsync("ADD", Batch(a, "any", "shared"));
        var inB = await c.EventsAsync("ADD", Batch(b, "any", "shared"));
        Assert.NotEqual(inA[0].Id, inB[0].Id);
        Assert.Equal(b, inB[0].Stream);
        Assert.Single(await c.EventsAsync("GET", b));
    }

    [Fact]
    public async Task Dedupe_is_not_a_time_window()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("idem-old");
        var first = await c.EventsAsync("ADD", Batch(stream, "any", "old-1", "old-2"));
        for (int i = 0; i < 20; i++)
        {
            var args = new List<string> { "ADD", stream, "any" };
            for (int j = 0; j < 100; j++)
            {
                args.AddRange(["Filler", "x"]);
            }

            await c.EventsAsync([.. args]);
        }

        var state = await StoreState.ReadAsync(c);
        var again = await c.EventsAsync("ADD", Batch(stream, "no_stream", "old-1", "old-2"));
        Assert.Equal(first.Select(e => e.Raw), again.Select(e => e.Raw));
        Assert.Equal(state, await StoreState.ReadAsync(c));
    }

    [Fact]
    public async Task Events_without_message_ids_are_never_deduplicated()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("idem-none");
        await c.EventsAsync("ADD", Batch(stream, "any", null, null));
        var second = await c.EventsAsync("ADD", Batch(stream, "any", null, null));
        EventAssert.OneAdd(second, stream, 2);
    }
}

/// <summary>Dedupe survives graceful and kill -9 restarts (own server per test).</summary>
public sealed class IdempotencyRestartTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Dedupe_survives_restarts()
    {
        var server = await StartServerAsync();
        string stream = Guid.NewGuid().ToString();
        List<StoredEvent> first;
        await using (var c = await server.OpenRawAsync())
        {
            first = await c.EventsAsync("ADD", IdempotencyTests.Batch(stream, "no_stream", "r1", "r2"));
            await c.EventsAsync("ADD", IdempotencyTests.Batch(stream, "any", "other"));
        }

        foreach (bool kill in new[] { false, true })
        {
            if (kill)
            {
                await server.KillAsync();
            }
            else
            {
                Assert.Equal(0, await server.StopAsync());
            }

            await server.RestartAsync();
            await using var c = await server.OpenRawAsync();
            var state = await StoreState.ReadAsync(c);
            var again = await c.EventsAsync("ADD", IdempotencyTests.Batch(stream, 0, "r1", "r2"));
            Assert.Equal(first.Select(e => e.Raw), again.Select(e => e.Raw));
            Assert.Equal(state, await StoreState.ReadAsync(c));
            EventAssert.StartsWith("WRONGVERSION", await c.ErrorAsync("ADD", IdempotencyTests.Batch(stream, "any", "r2", kill ? "r4" : "r3")));
            Assert.Equal(state, await StoreState.ReadAsync(c));
        }
    }
}
