using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>A shared server with <c>--max-page-bytes 64kb</c>.</summary>
public sealed class SmallPageBytesFixture : ServerFixture
{
    /// <inheritdoc />
    protected override ServerSettings Settings => new() { ExtraArgs = ["--max-page-bytes", "64kb"] };
}

/// <summary>
/// SPEC.md v2 "Replies are bounded": one GET / GETALL / GROUP READ page stops early once its events would pass
/// <c>--max-page-bytes</c>, holds at least one event, and the client pages on from the last event as usual.
/// </summary>
public sealed class PageBytesTests(SmallPageBytesFixture fixture, ITestOutputHelper output)
    : SharedServerTest<SmallPageBytesFixture>(fixture, output), IClassFixture<SmallPageBytesFixture>
{
    private const int Limit = 64 * 1024;
    private const int EventBytes = 10 * 1024;

    [Fact]
    public async Task Get_pages_stop_at_the_byte_limit_and_paging_returns_every_event_in_order()
    {
        string stream = Unique("pb-get");
        await using var c = await Server.OpenRawAsync();
        await OutputProbe.AppendAsync(c, stream, 50, EventBytes);

        var first = await c.CommandRawAsync("GET", stream, "0", "1000");
        var page = StoredEvent.ParseAll(first.Value.Strings());
        Assert.InRange(page.Count, 1, 49);
        Assert.True(first.Raw.Length <= Limit + EventBytes + 1024, $"a page of {first.Raw.Length} bytes");
        Assert.Equal(Enumerable.Range(0, page.Count).Select(v => (long)v), page.Select(e => e.Version));

        // Paging by version (the usual way) returns all 50, in order, each page within the bound.
        var all = new List<StoredEvent>();
        while (true)
        {
            var reply = await c.CommandRawAsync("GET", stream, all.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000");
            var events = StoredEvent.ParseAll(reply.Value.Strings());
            if (events.Count == 0)
            {
                break;
            }

            Assert.True(reply.Raw.Length <= Limit + 1024, $"a page of {reply.Raw.Length} bytes");
            all.AddRange(events);
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(v => (long)v), all.Select(e => e.Version));
    }

    [Fact]
    public async Task An_event_larger_than_the_limit_comes_alone()
    {
        string stream = Unique("pb-big");
        await using var c = await Server.OpenRawAsync();
        await OutputProbe.AppendAsync(c, stream, 2, EventBytes);
        await OutputProbe.AppendAsync(c, stream, 1, 100 * 1024);
        await OutputProbe.AppendAsync(c, stream, 1, EventBytes);

        // From the big one: it alone. Before it: the small ones, and the page ends before the big one.
        var big = await c.EventsAsync("GET", stream, "2", "1000");
        Assert.Equal(2, Assert.Single(big).Version);
        var before = await c.EventsAsync("GET", stream, "0", "1000");
        Assert.Equal([0L, 1L], before.Select(e => e.Version));
        var stored = await c.ReadWholeStreamAsync(stream);
        Assert.Equal(4, stored.Count);
    }

    [Fact]
    public async Task Getall_pages_stop_at_the_byte_limit_and_paging_returns_every_event_in_order()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("pb-all");
        await OutputProbe.AppendAsync(c, stream, 50, EventBytes);

        var first = await c.CommandRawAsync("GETALL", "0", "1000");
        Assert.InRange(first.Value.Arr().Count, 1, 49);
        Assert.True(first.Raw.Length <= Limit + 1024, $"a page of {first.Raw.Length} bytes");

        var log = await c.ReadWholeLogAsync(1000);
        var mine = log.Where(e => e.Stream == stream).ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(v => (long)v), mine.Select(e => e.Version));
        Assert.Equal(log.Count, (await c.CommandAsync("EVENTCOUNT")).Int());

        // With a channel filter too.
        var filtered = new List<StoredEvent>();
        string offset = "0";
        while (true)
        {
            var reply = await c.CommandRawAsync("GETALL", offset, "1000", "CHANNEL", "stream:" + stream);
            var events = StoredEvent.ParseAll(reply.Value.Strings());
            if (events.Count == 0)
            {
                break;
            }

            Assert.True(reply.Raw.Length <= Limit + 1024, $"a page of {reply.Raw.Length} bytes");
            filtered.AddRange(events);
            offset = events[^1].Id;
        }

        Assert.Equal(mine.Select(e => e.Id), filtered.Select(e => e.Id));
    }

    [Fact]
    public async Task Group_read_pages_stop_at_the_byte_limit_and_every_event_is_delivered_once()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("pb-group");
        string group = Unique("pb-g");
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", group, "stream:" + stream, "0")).Str());
        await OutputProbe.AppendAsync(c, stream, 50, EventBytes);

        var got = new List<StoredEvent>();
        while (true)
        {
            var reply = await c.CommandRawAsync("GROUP", "READ", group, "c1", "COUNT", "1000");
            var events = StoredEvent.ParseAll(reply.Value.Strings());
            if (events.Count == 0)
            {
                break;
            }

            Assert.True(events.Count < 50);
            Assert.True(reply.Raw.Length <= Limit + 1024, $"a page of {reply.Raw.Length} bytes");
            got.AddRange(events);
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(v => (long)v), got.Select(e => e.Version));
    }
}
