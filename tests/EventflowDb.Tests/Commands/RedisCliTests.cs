using System.Globalization;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Commands;

/// <summary>Every EventflowDB command through the stock <c>redis-cli</c>, arguments as a user would type them.</summary>
public sealed class RedisCliTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private async Task<IReadOnlyList<string>> CliLinesAsync(params string[] args)
    {
        var result = await Server.RedisCliRawAsync(args);
        Assert.True(result.ExitCode == 0, $"redis-cli {string.Join(' ', args)} exited {result.ExitCode}: {result.Stdout}{result.Stderr}");
        return result.Lines;
    }

    private async Task<List<StoredEvent>> CliEventsAsync(params string[] args) =>
        StoredEvent.ParseAll((await CliLinesAsync(args)).Where(l => l.Length > 0));

    [Fact]
    public async Task Ping_version_and_counters()
    {
        Assert.Equal(["PONG"], await CliLinesAsync("PING"));
        Assert.Equal(["hello"], await CliLinesAsync("ping", "hello"));
        Assert.Equal(["0.1.0"], await CliLinesAsync("VERSION"));

        foreach (var command in new[] { "EVENTCOUNT", "STREAMCOUNT", "EVENTCOUNTEST", "STREAMCOUNTEST", "DBSIZE" })
        {
            var lines = await CliLinesAsync(command);
            Assert.True(lines.Count == 1 && long.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out _), $"{command}: {string.Join('|', lines)}");
        }

        var uptime = await CliLinesAsync("UPTIME");
        Assert.Equal(2, uptime.Count);
        Assert.True(long.Parse(uptime[0], CultureInfo.InvariantCulture) >= 0);
        var size = await CliLinesAsync("SIZE");
        Assert.Equal(2, size.Count);
        Assert.True(long.Parse(size[0], CultureInfo.InvariantCulture) >= 0);
    }

    [Fact]
    public async Task Add_get_and_getall_positional()
    {
        string stream = Unique("cli");
        long countBefore = long.Parse((await CliLinesAsync("EVENTCOUNT"))[0], CultureInfo.InvariantCulture);

        var first = await CliEventsAsync("ADD", stream, "no_stream", "OrderPlaced", """{"amount":10,"items":["a","b"]}""");
        var e = Assert.Single(first);
        Assert.Equal(stream, e.Stream);
        Assert.Equal(0, e.Version);
        EventAssert.JsonEqual("""{"amount":10,"items":["a","b"]}""", e.Data);
        EventAssert.DefaultCausation(e);

        var batch = await CliEventsAsync("ADD", stream, "1", "Paid", "42", "Shipped", "hello world");
        EventAssert.OneAdd(batch, stream, 1);
        EventAssert.JsonString("42", batch[0].Data);
        EventAssert.JsonString("hello world", batch[1].Data);

        var all = first.Concat(batch).Select(x => x.Raw).ToList();
        Assert.Equal(all, (await CliEventsAsync("GET", stream)).Select(x => x.Raw));
        Assert.Equal(all.Skip(1).Take(1), (await CliEventsAsync("GET", stream, "1", "1")).Select(x => x.Raw));
        Assert.Empty(await CliEventsAsync("GET", stream, "3"));

        var page = await CliEventsAsync("GETALL", first[0].Id, "2");
        Assert.Equal(2, page.Count);
        Assert.True(string.CompareOrdinal(page[0].Id, first[0].Id) > 0);

        Assert.Equal(countBefore + 3, long.Parse((await CliLinesAsync("EVENTCOUNT"))[0], CultureInfo.InvariantCulture));
        var checksum = await CliLinesAsync("CHECKSUM");
        Assert.Equal(2, checksum.Count);
        Assert.Matches("^[0-9a-f]{16}$", checksum[1]);
    }

    [Fact]
    public async Task Add_get_getall_and_liststreams_in_json_form()
    {
        string stream = Unique("cli-json");
        var added = await CliEventsAsync("ADD", $$$"""{"stream":"{{{stream}}}","version":"no_stream","events":[{"type":"T","data":{"a":1},"metadata":"m","message_id":"x"}]}""");
        var e = Assert.Single(added);
        Assert.Equal("x", e.MessageId);
        EventAssert.JsonString("m", e.Metadata!.Value);

        Assert.Equal([e.Raw], (await CliEventsAsync("GET", $$"""{"stream":"{{stream}}","version":0,"limit":10}""")).Select(x => x.Raw));
        var offset = (await CliEventsAsync("GETALL", "0", "1"))[0].Id;
        var next = await CliEventsAsync("GETALL", $$"""{"offset":"{{offset}}","limit":5}""");
        Assert.InRange(next.Count, 1, 5);
        Assert.True(string.CompareOrdinal(next[0].Id, offset) > 0);

        var streams = await CliLinesAsync("LISTSTREAMS", """{"skip":0,"limit":1000}""");
        Assert.Contains(streams, l => l.Contains($"\"stream\":\"{stream}\"", StringComparison.Ordinal));
        Assert.Equal(streams.Take(1), await CliLinesAsync("LISTSTREAMS", "0", "1"));
    }

    [Fact]
    public async Task Commands_pasted_on_stdin_with_quotes()
    {
        string stream = Unique("cli-stdin");
        string input = $"ADD {stream} any Note \"hello world\"\nADD {stream} any Obj '{{\"k\":\"v w\"}}'\nGET {stream}\n";
        var result = await Server.RedisCliRawAsync([], input);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var events = StoredEvent.ParseAll(result.Lines.Where(l => l.Length > 0));
        Assert.Equal(4, events.Count);
        EventAssert.JsonString("hello world", events[0].Data);
        EventAssert.JsonEqual("""{"k":"v w"}""", events[1].Data);
        Assert.Equal([events[0].Raw, events[1].Raw], events.Skip(2).Select(x => x.Raw));
    }

    [Fact]
    public async Task Errors_are_shown_to_the_user()
    {
        string stream = Unique("cli-err");
        await CliEventsAsync("ADD", stream, "any", "T", "x");
        var gap = await Server.RedisCliRawAsync(["ADD", stream, "7", "T", "x"]);
        Assert.Contains("WRONGVERSION given version leaves gap in stream (expected 7, stream is at 1)", gap.Stdout + gap.Stderr, StringComparison.Ordinal);
        var conflict = await Server.RedisCliRawAsync(["ADD", stream, "0", "T", "x"]);
        Assert.Contains("WRONGVERSION concurrent stream modification (expected 0, stream is at 1)", conflict.Stdout + conflict.Stderr, StringComparison.Ordinal);
        var unknown = await Server.RedisCliRawAsync(["NOSUCHCOMMAND"]);
        Assert.Contains("ERR unknown command", unknown.Stdout + unknown.Stderr, StringComparison.Ordinal);
        Assert.Single(await CliEventsAsync("GET", stream));
    }

    [Fact]
    public async Task Info_and_quit()
    {
        var info = await Server.RedisCli("INFO");
        Assert.Contains("redis_version:", info, StringComparison.Ordinal);
        Assert.Equal(["OK"], await CliLinesAsync("QUIT"));
    }
}
