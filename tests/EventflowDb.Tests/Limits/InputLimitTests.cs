using System.Text;
using System.Text.Unicode;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Subscriptions;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// SPEC.md v2 "Limits against careless and hostile clients", input side: UTF-8 JSON, name rules, BLOCK, channels,
/// patterns, subscriptions per connection and bounded error messages. Every refused request gets its error, leaves
/// the store unchanged and the connection answering.
/// </summary>
public sealed class InputLimitTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static readonly byte[] NotUtf8 = [0xff, 0xfe, 0xc3];

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Strings (as UTF-8) and byte arrays, one after the other.</summary>
    private static byte[] Cat(params object[] parts) =>
        [.. parts.SelectMany(p => p as byte[] ?? B((string)p))];

    private Task<string> RejectedAsync(string prefix, params string[] args) => RejectedAsync(prefix, [.. args.Select(B)]);

    /// <summary>
    /// Sends <paramref name="args"/> on a fresh raw connection, expects an error starting with <paramref name="prefix"/> that
    /// is short (no argument is echoed whole), then checks that the connection answers PING and the store did not change.
    /// </summary>
    private async Task<string> RejectedAsync(string prefix, params byte[][] args)
    {
        await using var c = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(c);
        var reply = await c.CommandRawAsync(args);
        Assert.True(reply.Value.IsError(), $"expected an error, got {RespText.Describe(reply.Value)}");
        string error = reply.Value.Text!;
        EventAssert.StartsWith(prefix, error);
        Assert.True(reply.Raw.Length <= 1024, $"error reply of {reply.Raw.Length} bytes: {error[..Math.Min(error.Length, 300)]}");
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        Assert.Equal(before, await StoreState.ReadAsync(c));
        return error;
    }

    [Fact]
    public async Task Add_refuses_bytes_that_are_not_utf8_in_every_form()
    {
        string stream = Unique("utf8");

        // The issue's reproduction: raw bytes inside a JSON string of the JSON form.
        byte[] Doc(string template) => Cat([.. template.Replace("STREAM", stream, StringComparison.Ordinal).Split("BAD").SelectMany((part, i) => i == 0 ? new object[] { part } : [NotUtf8, part])]);
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"T","data":"BAD"}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"T","data":{"k":"BAD"}}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"T","data":1,"metadata":"BAD"}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"T","data":1,"metadata":["BAD"]}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"BAD","data":1}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"STREAM","events":[{"type":"T","data":1,"message_id":"BAD"}]}"""));
        await RejectedAsync("INVALID", B("ADD"), Doc("""{"stream":"BAD","events":[{"type":"T","data":1}]}"""));

        // Positional form: a JSON object or array is stored as sent, so its strings must be UTF-8 too.
        await RejectedAsync("INVALID", B("ADD"), B(stream), B("any"), B("T"), Cat("{\"k\":\"", NotUtf8, "\"}"));
        await RejectedAsync("INVALID", B("ADD"), B(stream), B("any"), B("T"), Cat("[\"", NotUtf8, "\"]"));
        await RejectedAsync("INVALID", B("ADD"), B(stream), B("any"), B("T"), B("ok"), B("T"), NotUtf8);
        await RejectedAsync("INVALID", B("ADD"), B(stream), B("any"), NotUtf8, B("d"));
        await RejectedAsync("INVALID", B("ADD"), NotUtf8, B("any"), B("T"), B("d"));

        // An escape that is no character cannot be a name.
        await RejectedAsync("INVALID", "ADD", $$"""{"stream":"{{stream}}","events":[{"type":"\ud800","data":1}]}""");
        await RejectedAsync("INVALID", "ADD", $$"""{"stream":"{{stream}}","events":[{"type":"T","data":1,"message_id":"\udfff"}]}""");

        // The other JSON-form commands check the same.
        await RejectedAsync("INVALID", B("GET"), Doc("""{"stream":"BAD"}"""));
        await RejectedAsync("INVALID", B("GETALL"), Doc("""{"channel":"stream:BAD"}"""));

        // Valid UTF-8 (raw or escaped) is stored, and every reply holding the log is valid UTF-8.
        await using var c = await Server.OpenRawAsync();
        var stored = await c.EventsAsync("ADD", $$"""{"stream":"{{stream}}","events":[{"type":"Tÿpe","data":{"k":"é\u00e9"},"metadata":"m✓"}]}""");
        Assert.Equal("Tÿpe", Assert.Single(stored).Type);
        var log = await c.CommandRawAsync("GETALL", "0", "10000");
        Assert.True(Utf8.IsValid(log.Raw));
        Assert.All(log.Value.Items, e => Assert.True(Utf8.IsValid(e.Bytes)));
    }

    [Fact]
    public async Task Event_types_and_message_ids_are_short_and_printable()
    {
        string stream = Unique("names");
        await RejectedAsync("INVALID", "ADD", stream, "any", new string('t', 129), "d");
        await RejectedAsync("INVALID", "ADD", stream, "any", new string('é', 65), "d");
        await RejectedAsync("INVALID", "ADD", Json(stream, """{"type":"T","data":1}""", $$"""{"type":"{{new string('t', 129)}}","data":1}"""));
        foreach (string bad in new[] { "a\u0001b", "tab\there", "line\nbreak", "del\u007f", "c1\u0085" })
        {
            await RejectedAsync("INVALID", "ADD", stream, "any", bad, "d");
            await RejectedAsync("INVALID", "ADD", Json(stream, $$"""{"type":{{System.Text.Json.JsonSerializer.Serialize(bad)}},"data":1}"""));
            await RejectedAsync("INVALID", "ADD", Json(stream, $$"""{"type":"T","data":1,"message_id":{{System.Text.Json.JsonSerializer.Serialize(bad)}}}"""));
        }

        await using var c = await Server.OpenRawAsync();
        string type128 = new('t', 128);
        Assert.Equal(type128, Assert.Single(await c.EventsAsync("ADD", stream, "any", type128, "d")).Type);
        Assert.Equal("Événement ✓", Assert.Single(await c.EventsAsync("ADD", stream, "any", "Événement ✓", "d")).Type);
    }

    [Fact]
    public async Task Group_and_consumer_names_are_short_and_printable()
    {
        string prefix = Unique("g");
        await RejectedAsync("INVALID", "GROUP", "CREATE", prefix + new string('g', 257), "$all");
        await RejectedAsync("INVALID", "GROUP", "CREATE", prefix + "\nx", "$all");
        await RejectedAsync("INVALID", "GROUP", "CREATE", prefix + "\u0000", "$all");
        await RejectedAsync("INVALID", "GROUP", "CREATE", "", "$all");
        await using var c = await Server.OpenRawAsync();
        Assert.True((await c.CommandAsync("GROUP", "INFO", prefix + "\nx")).IsError());

        string group = (prefix + new string('g', 256))[..256];
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", group, "$all", "$")).Str());
        await RejectedAsync("INVALID", "GROUP", "READ", group, new string('c', 257));
        await RejectedAsync("INVALID", "GROUP", "READ", group, "c\tx");
        await RejectedAsync("INVALID", "GROUP", "READ", group, "");
        var info = Assert.Single((await c.CommandAsync("GROUP", "INFO", group)).Arr());
        Assert.Empty(Groups.GroupClient.Fields(info)["consumers"].Arr());

        string consumer = new('c', 256);
        Assert.Empty((await c.CommandAsync("GROUP", "READ", group, consumer)).Arr());
        info = Assert.Single((await c.CommandAsync("GROUP", "INFO", group)).Arr());
        Assert.Equal([consumer], Groups.GroupClient.Fields(info)["consumers"].Strings());
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "DELETE", group)).Str());
    }

    [Fact]
    public async Task Block_is_at_most_int_max_milliseconds()
    {
        int mark = Server.Output.Length;
        string stream = Unique("block");
        await using var c = await Server.OpenRawAsync();
        await c.EventsAsync("ADD", stream, "any", "T", "d");
        string group = Unique("block-group");
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", group, "stream:" + stream)).Str());

        foreach (string tooLong in new[] { "2147483648", "99999999999999" })
        {
            await RejectedAsync("INVALID", "GET", stream, "0", "10", "BLOCK", tooLong);
            await RejectedAsync("INVALID", "GET", $$"""{"stream":"{{stream}}","block":{{tooLong}}}""");
            await RejectedAsync("INVALID", "GETALL", "0", "10", "BLOCK", tooLong);
            await RejectedAsync("INVALID", "GETALL", "0", "10", "CHANNEL", "stream:" + stream, "BLOCK", tooLong);
            await RejectedAsync("INVALID", "GETALL", $$"""{"offset":"0","block":{{tooLong}}}""");
            await RejectedAsync("INVALID", "GROUP", "READ", group, "c1", "BLOCK", tooLong);
        }

        // The longest wait is accepted (these find events, so they answer at once).
        Assert.Single(await c.EventsAsync("GET", stream, "0", "10", "BLOCK", "2147483647"));
        Assert.Single(await c.EventsAsync("GETALL", "0", "10", "CHANNEL", "stream:" + stream, "BLOCK", "2147483647"));
        Assert.Single(await c.EventsAsync("GROUP", "READ", group, "c1", "BLOCK", "2147483647"));
        Assert.DoesNotContain("Exception", Server.Output[mark..], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Follow_getall_and_group_create_take_only_the_four_channel_kinds()
    {
        string stream = Unique("chan");
        Assert.Equal("INVALID unknown channel 'nosuchkind:x'", await RejectedAsync("INVALID", "FOLLOW", "nosuchkind:x", "0"));
        foreach (string bad in new[] { "stream:", "category:", "type:", "", "all", "$ALL", ":x", "stream" })
        {
            Assert.Equal($"INVALID unknown channel '{bad}'", await RejectedAsync("INVALID", "FOLLOW", bad, "0"));
            await RejectedAsync("INVALID", "GETALL", "0", "10", "CHANNEL", bad);
            await RejectedAsync("INVALID", "GETALL", $$"""{"channel":"{{bad}}"}""");
            await RejectedAsync("INVALID", "GROUP", "CREATE", Unique("chan-group"), bad);
        }

        // The four kinds are accepted.
        await using var c = await Server.OpenRawAsync();
        Assert.Empty((await c.CommandAsync("GETALL", "0", "10", "CHANNEL", "stream:" + stream)).Arr());
        foreach (string good in new[] { "$all", "stream:" + stream, "category:x", "type:T" })
        {
            string group = Unique("chan-group");
            Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", group, good, "$")).Str());
            Assert.Equal("OK", (await c.CommandAsync("GROUP", "DELETE", group)).Str());
        }

        await c.FollowAsync("stream:" + stream, "0");

        // SUBSCRIBE keeps accepting any name, as Redis clients need.
        await using var s = await Server.OpenRawAsync();
        await s.SubscribeAsync("SUBSCRIBE", "nosuchkind:x", "stream:", "__Booksleeve_MasterChanged");
        Assert.Equal(["pong", ""], await s.ReadFrameAfterAsync("PING"));
    }

    [Fact]
    public async Task Patterns_are_at_most_1_KiB()
    {
        string tooLong = new('p', 1025);
        Assert.StartsWith("ERR pattern is longer than 1024 bytes", await RejectedAsync("ERR", "PSUBSCRIBE", tooLong), StringComparison.Ordinal);
        await RejectedAsync("ERR", "PSUBSCRIBE", "stream:*", tooLong); // nothing subscribed: PING answers PONG, not a pub/sub frame
        await RejectedAsync("ERR", "CONFIG", "GET", tooLong);
        await RejectedAsync("ERR", "CONFIG", "GET", "port", tooLong);

        await using var c = await Server.OpenRawAsync();
        string longest = new string('*', 1023) + "t";
        Assert.NotEmpty((await c.CommandAsync("CONFIG", "GET", longest)).Arr());
        await c.SubscribeAsync("PSUBSCRIBE", longest);
    }

    [Fact]
    public async Task A_connection_holds_at_most_10000_subscriptions()
    {
        string[] names = [.. Enumerable.Range(0, 10_000).Select(i => $"stream:limit-{i}")];

        // One request over the limit subscribes to nothing.
        await RejectedAsync("ERR too many subscriptions", ["SUBSCRIBE", .. names, "stream:one-more"]);

        await using var c = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(c);
        await c.SendCommandAsync(["SUBSCRIBE", .. names, names[0], names[1]]); // repeats do not count
        for (int i = 0; i < names.Length + 2; i++)
        {
            var frame = await c.ReadFrameAsync();
            Assert.Equal(Math.Min(i + 1, names.Length).ToString(System.Globalization.CultureInfo.InvariantCulture), frame[2]);
        }

        EventAssert.StartsWith("ERR too many subscriptions", (await c.CommandAsync("SUBSCRIBE", "stream:one-more")).Text!);
        EventAssert.StartsWith("ERR too many subscriptions", (await c.CommandAsync("PSUBSCRIBE", "stream:*")).Text!);
        EventAssert.StartsWith("ERR too many subscriptions", (await c.CommandAsync("FOLLOW", "$all", "0")).Text!);
        Assert.Equal(["subscribe", names[5], "10000"], await c.ReadFrameAfterAsync("SUBSCRIBE", names[5]));
        Assert.Equal(["unsubscribe", names[7], "9999"], await c.ReadFrameAfterAsync("UNSUBSCRIBE", names[7]));
        string quiet = "stream:" + Unique("quiet"); // no history to deliver before the PING reply
        Assert.Equal(["subscribe", quiet, "10000"], await c.ReadFrameAfterAsync("FOLLOW", quiet, StoredEvent.ZeroUlid));
        Assert.Equal(["pong", ""], await c.ReadFrameAfterAsync("PING"));

        await using var other = await Server.OpenRawAsync();
        Assert.Equal(before, await StoreState.ReadAsync(other));
    }

    [Fact]
    public async Task Errors_echo_at_most_128_bytes_of_an_argument()
    {
        string huge = new('x', 8 << 20);
        string excerpt = $"'{new string('x', 128)}...'";
        string error = await RejectedAsync("ERR unknown command", "NOSUCH" + huge, huge, huge, huge);
        Assert.Equal($"ERR unknown command '{("NOSUCH" + huge)[..128]}...', with args beginning with: {excerpt} {excerpt} {excerpt} ", error);

        // A cut never splits a character: 'é' is two bytes, so 64 of them fill the 128 bytes.
        string accents = new('é', 100_000);
        Assert.Contains($"'{new string('é', 64)}...'", await RejectedAsync("ERR unknown command", accents), StringComparison.Ordinal);
        Assert.Contains($"'x{new string('é', 63)}...'", await RejectedAsync("ERR unknown command", "x" + accents), StringComparison.Ordinal);

        Assert.Contains(excerpt, await RejectedAsync("ERR unknown GROUP subcommand", "GROUP", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR no such consumer group", "GROUP", "INFO", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR no such consumer group", "GROUP", "DELETE", huge), StringComparison.Ordinal);
        await RejectedAsync("INVALID group name is longer than 256 bytes", "GROUP", "CREATE", huge, "$all");
        Assert.Contains(excerpt, await RejectedAsync("INVALID unknown channel", "FOLLOW", huge, "0"), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("INVALID unknown channel", "GETALL", "0", "1", "CHANNEL", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR", "CONFIG", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR", "COMMAND", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR", "CLIENT", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR", "CLIENT", "SETINFO", huge, "v"), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR", "HELLO", "3", huge), StringComparison.Ordinal);
        Assert.Contains(excerpt, await RejectedAsync("ERR invalid JSON: unknown field", "GET", $$"""{"{{huge}}":1}"""), StringComparison.Ordinal);
        await RejectedAsync("INVALID stream is longer than 256 bytes", "GET", huge);
        await RejectedAsync("INVALID event type is longer than 128 bytes", "ADD", Unique("s"), "any", huge[..100_000], "d");
    }

    private static string Json(string stream, params string[] events) =>
        $$"""{"stream":"{{stream}}","events":[{{string.Join(',', events)}}]}""";
}
