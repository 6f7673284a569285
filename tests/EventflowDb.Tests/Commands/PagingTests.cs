using System.Globalization;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Commands;

/// <summary>GETALL, GET and LISTSTREAMS paging on a server with the default page sizes.</summary>
public sealed class PagingTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static async Task<List<StoredEvent>> AddManyAsync(RespConnection c, string stream, int count, int batch)
    {
        var all = new List<StoredEvent>();
        while (all.Count < count)
        {
            int n = Math.Min(batch, count - all.Count);
            var args = new List<string> { "ADD", stream, "any" };
            for (int i = 0; i < n; i++)
            {
                args.Add("T");
                args.Add($$"""{"n":{{all.Count + i}}}""");
            }

            all.AddRange(await c.EventsAsync([.. args]));
        }

        return all;
    }

    [Fact]
    public async Task GetAll_walks_the_whole_log_page_by_page()
    {
        await using var c = await Server.OpenRawAsync();
        string a = Unique("walk-a");
        string b = Unique("walk-b");
        var written = new List<StoredEvent>();
        for (int i = 0; i < 10; i++)
        {
            written.AddRange(await c.EventsAsync("ADD", i % 2 == 0 ? a : b, "any", "T", N(i), "U", N(i)));
        }

        var whole = await c.EventsAsync("GETALL", "0", "10000");
        Assert.True(whole.Count < 10000, "test assumes the log is under one max page");
        EventAssert.WholeLog(whole);
        Assert.Equal((await c.CommandAsync("EVENTCOUNT")).Int(), whole.Count);
        var ids = whole.Select(e => e.Id).ToList();

        foreach (int limit in new[] { 1, 3, 7 })
        {
            var walked = await c.ReadWholeLogAsync(limit);
            Assert.Equal(whole.Select(e => e.Raw), walked.Select(e => e.Raw));
        }

        var json = new List<StoredEvent>();
        string offset = StoredEvent.ZeroUlid;
        while (true)
        {
            var page = await c.EventsAsync("GETALL", JsonSerializer.Serialize(new { offset, limit = 4 }));
            Assert.True(page.Count <= 4);
            if (page.Count == 0)
            {
                break;
            }

            json.AddRange(page);
            offset = page[^1].Id;
        }

        Assert.Equal(ids, json.Select(e => e.Id));

        // Everything we wrote is there, in order, byte for byte.
        var byId = whole.ToDictionary(e => e.Id, e => e.Raw);
        foreach (var e in written)
        {
            Assert.Equal(e.Raw, byId[e.Id]);
        }

        Assert.Equal(written.Select(e => e.Id), ids.Where(written.Select(w => w.Id).ToHashSet().Contains));

        // An offset in the middle returns exactly what follows it.
        int mid = whole.Count / 2;
        var tail = await c.EventsAsync("GETALL", whole[mid].Id, "10000");
        Assert.Equal(whole.Skip(mid + 1).Select(e => e.Raw), tail.Select(e => e.Raw));
        Assert.Empty(await c.EventsAsync("GETALL", whole[^1].Id, "10"));
    }

    [Fact]
    public async Task GetAll_offset_forms_for_the_start()
    {
        await using var c = await Server.OpenRawAsync();
        await c.EventsAsync("ADD", Unique("start"), "any", "T", "x");
        var fromNothing = (await c.EventsAsync("GETALL")).Select(e => e.Raw).ToList();
        Assert.NotEmpty(fromNothing);
        EventAssert.PositionsConsecutive(StoredEvent.ParseAll(fromNothing), 0);
        Assert.Equal(fromNothing, (await c.EventsAsync("GETALL", "0")).Select(e => e.Raw));
        Assert.Equal(fromNothing, (await c.EventsAsync("GETALL", StoredEvent.ZeroUlid)).Select(e => e.Raw));
        Assert.Equal(fromNothing, (await c.EventsAsync("GETALL", "0", "0")).Select(e => e.Raw));
        Assert.Equal(fromNothing, (await c.EventsAsync("GETALL", "{}")).Select(e => e.Raw));
        Assert.Equal(fromNothing, (await c.EventsAsync("GETALL", JsonSerializer.Serialize(new { offset = StoredEvent.ZeroUlid }))).Select(e => e.Raw));
        Assert.Equal(fromNothing.Take(2), (await c.EventsAsync("GETALL", "0", "2")).Select(e => e.Raw));
        Assert.Equal(fromNothing.Take(2), (await c.EventsAsync("GETALL", JsonSerializer.Serialize(new { offset = "0", limit = 2 }))).Select(e => e.Raw));
    }

    [Fact]
    public async Task Limit_zero_or_missing_means_the_default_page_of_1000()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("thousand");
        var written = await AddManyAsync(c, stream, 1005, 201);
        Assert.Equal(1005, written.Count);
        EventAssert.WholeStream(written, stream);

        Assert.Equal(1000, (await c.EventsAsync("GET", stream)).Count);
        Assert.Equal(1000, (await c.EventsAsync("GET", stream, "0", "0")).Count);
        Assert.Equal(1000, (await c.EventsAsync("GET", JsonSerializer.Serialize(new { stream }))).Count);
        Assert.Equal(1000, (await c.EventsAsync("GET", JsonSerializer.Serialize(new { stream, version = 0, limit = 0 }))).Count);
        Assert.Equal(5, (await c.EventsAsync("GET", stream, "1000")).Count);
        Assert.Equal(1005, (await c.EventsAsync("GET", stream, "0", "2000")).Count);
        Assert.Equal(1000, (await c.EventsAsync("GETALL")).Count);
        Assert.Equal(1000, (await c.EventsAsync("GETALL", "0", "0")).Count);

        var read = await c.ReadWholeStreamAsync(stream);
        Assert.Equal(written.Select(e => e.Raw), read.Select(e => e.Raw));
    }

    [Fact]
    public async Task ListStreams_paging_is_stable_and_complete()
    {
        await using var c = await Server.OpenRawAsync();
        var mine = new List<string>();
        for (int i = 0; i < 7; i++)
        {
            string s = Unique($"list{i}");
            mine.Add(s);
            await c.EventsAsync("ADD", s, "no_stream", "T", N(i));
        }

        var full = await c.ListAllStreamsAsync(1000);
        Assert.Equal((await c.CommandAsync("STREAMCOUNT")).Int(), full.Count);
        Assert.Equal(full.Count, full.Distinct().Count());
        var names = full.Select(s => JsonDocument.Parse(s).RootElement.GetProperty("stream").GetString()!).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(mine, names.Where(mine.Contains));

        foreach (int limit in new[] { 1, 3 })
        {
            Assert.Equal(full, await c.ListAllStreamsAsync(limit));
        }

        var firstTwo = (await c.CommandAsync("LISTSTREAMS", JsonSerializer.Serialize(new { skip = 0, limit = 2 }))).Strings();
        Assert.Equal(full.Take(2), firstTwo);
        var skipped = (await c.CommandAsync("LISTSTREAMS", JsonSerializer.Serialize(new { skip = 1, limit = 3 }))).Strings();
        Assert.Equal(full.Skip(1).Take(3), skipped);
        Assert.Empty((await c.CommandAsync("LISTSTREAMS", N(full.Count), "10")).Strings());

        // Writing to an existing stream keeps the order; a new stream comes last.
        await c.EventsAsync("ADD", mine[0], "1", "T", "again");
        string newest = Unique("list-new");
        await c.EventsAsync("ADD", newest, "no_stream", "T", "x");
        var after = await c.ListAllStreamsAsync(2);
        var afterNames = after.Select(s => JsonDocument.Parse(s).RootElement.GetProperty("stream").GetString()!).ToList();
        Assert.Equal([.. names, newest], afterNames);
        var summary = JsonDocument.Parse(after[names.IndexOf(mine[0])]).RootElement;
        Assert.Equal(1, summary.GetProperty("version").GetInt64());
        Assert.Equal(2, summary.GetProperty("events").GetInt64());
    }
}

/// <summary>A server with <c>--max-page 5</c>: no reply holds more than 5 items.</summary>
public sealed class MaxPageTests(MaxPageServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<MaxPageServerFixture>(fixture, output), IClassFixture<MaxPageServerFixture>
{
    [Fact]
    public async Task Limits_over_the_max_page_are_clamped()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("clamp");
        var args = new List<string> { "ADD", stream, "no_stream" };
        for (int i = 0; i < 12; i++)
        {
            args.AddRange(["T", i.ToString(CultureInfo.InvariantCulture)]);
        }

        var written = await c.EventsAsync([.. args]);
        Assert.Equal(12, written.Count);

        Assert.Equal(written.Take(5).Select(e => e.Raw), (await c.EventsAsync("GET", stream, "0", "100")).Select(e => e.Raw));
        Assert.Equal(written.Take(5).Select(e => e.Raw), (await c.EventsAsync("GET", stream)).Select(e => e.Raw));
        Assert.Equal(written.Take(5).Select(e => e.Raw), (await c.EventsAsync("GET", stream, "0", "0")).Select(e => e.Raw));
        Assert.Equal(written.Skip(5).Take(5).Select(e => e.Raw), (await c.EventsAsync("GET", JsonSerializer.Serialize(new { stream, version = 5, limit = 1000 }))).Select(e => e.Raw));
        Assert.Equal(written.Skip(3).Take(2).Select(e => e.Raw), (await c.EventsAsync("GET", stream, "3", "2")).Select(e => e.Raw));
        Assert.Equal(5, (await c.EventsAsync("GETALL", "0", "100")).Count);
        Assert.Equal(5, (await c.EventsAsync("GETALL")).Count);

        var log = await c.ReadWholeLogAsync(100);
        EventAssert.WholeLog(log);
        Assert.Equal((await c.CommandAsync("EVENTCOUNT")).Int(), log.Count);
        Assert.Equal(written.Select(e => e.Raw), log.Where(e => e.Stream == stream).Select(e => e.Raw));
        Assert.Equal(written.Select(e => e.Raw), (await c.ReadWholeStreamAsync(stream, 50)).Select(e => e.Raw));
    }

    [Fact]
    public async Task ListStreams_is_clamped_too()
    {
        await using var c = await Server.OpenRawAsync();
        for (int i = 0; i < 7; i++)
        {
            await c.EventsAsync("ADD", Unique("clamp-list"), "any", "T", "x");
        }

        var page = (await c.CommandAsync("LISTSTREAMS", "0", "100")).Strings();
        Assert.Equal(5, page.Count);
        var all = await c.ListAllStreamsAsync(100);
        Assert.Equal((await c.CommandAsync("STREAMCOUNT")).Int(), all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
    }
}
