using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Compatibility;

/// <summary>The Redis command surface stock clients rely on, over raw sockets.</summary>
public sealed class RedisCommandTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static Dictionary<string, RespValue> MapOf(RespValue reply)
    {
        var map = new Dictionary<string, RespValue>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < reply.Items.Count; i += 2)
        {
            map[reply.Items[i].Str()] = reply.Items[i + 1];
        }

        return map;
    }

    private static async Task AssertStillOpenAsync(RespConnection c) =>
        Assert.Equal("still-open", (await c.CommandAsync("ECHO", "still-open")).Str());

    [Fact]
    public async Task Hello_3_answers_a_map_and_switches_to_resp3()
    {
        await using var c = await Server.OpenRawAsync();
        var hello = await c.CommandRawAsync("HELLO", "3");
        Assert.True(hello.Value.Type == RespType.Map, $"HELLO 3 should answer a RESP3 map, got {hello.RawText}");
        var map = MapOf(hello.Value);
        foreach (var key in new[] { "server", "version", "proto", "id", "mode", "role", "modules" })
        {
            Assert.True(map.ContainsKey(key), $"HELLO map lacks '{key}': {hello.RawText}");
        }

        Assert.Equal(3, map["proto"].Int());
        Assert.True(Version.TryParse(map["version"].Str(), out _), $"HELLO version '{map["version"].Str()}' is not a version number");
        Assert.Equal("standalone", map["mode"].Str());
        Assert.Equal("master", map["role"].Str());
        Assert.True(map["id"].Int() > 0);

        // RESP3 nulls are '_'.
        var name = await c.CommandRawAsync("CLIENT", "GETNAME");
        Assert.Equal("_\r\n", name.RawText);
        Assert.Equal(":", (await c.CommandRawAsync("EVENTCOUNT")).RawText[..1]);

        // HELLO 2 goes back to RESP2: a flat array, and $-1 nulls.
        var hello2 = await c.CommandRawAsync("HELLO", "2");
        Assert.Equal(RespType.Array, hello2.Value.Type);
        Assert.Equal(2, MapOf(hello2.Value)["proto"].Int());
        Assert.Equal("$-1\r\n", (await c.CommandRawAsync("CLIENT", "GETNAME")).RawText);

        // HELLO without a version just describes the connection.
        var hello0 = await c.CommandRawAsync("HELLO");
        Assert.False(hello0.Value.IsError(), hello0.RawText);
    }

    [Fact]
    public async Task Hello_3_then_eventflow_commands()
    {
        await using var c = await Server.OpenRawAsync();
        await c.CommandAsync("HELLO", "3");
        string stream = Unique("resp3");
        var add = await c.CommandRawAsync("ADD", stream, "any", "T", """{"a":1}""");
        Assert.StartsWith("*1\r\n$", add.RawText, StringComparison.Ordinal);
        var e = StoredEvent.Parse(Assert.Single(add.Value.Strings()));
        Assert.Equal([e.Raw], (await c.CommandAsync("GET", stream)).Strings());
        Assert.Equal(2, (await c.CommandAsync("CHECKSUM")).Arr().Count);
        Assert.Equal("*0\r\n", (await c.CommandRawAsync("GET", Unique("none"))).RawText);
    }

    [Fact]
    public async Task Client_subcommands()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("CLIENT", "SETNAME", "tester")).Str());
        Assert.Equal("tester", (await c.CommandAsync("CLIENT", "GETNAME")).Str());
        Assert.Equal("OK", (await c.CommandAsync("CLIENT", "SETINFO", "LIB-NAME", "eventflow-tests")).Str());
        Assert.Equal("OK", (await c.CommandAsync("CLIENT", "SETINFO", "LIB-VER", "1.2.3")).Str());
        long id = (await c.CommandAsync("CLIENT", "ID")).Int();
        Assert.True(id > 0);
        string info = (await c.CommandAsync("CLIENT", "INFO")).Str();
        Assert.Contains($"id={id}", info, StringComparison.Ordinal);
        Assert.Contains("name=tester", info, StringComparison.Ordinal);
        string list = (await c.CommandAsync("CLIENT", "LIST")).Str();
        Assert.Contains($"id={id} ", list, StringComparison.Ordinal);
        Assert.Contains("name=tester", list, StringComparison.Ordinal);

        await using var other = await Server.OpenRawAsync();
        long otherId = (await other.CommandAsync("client", "id")).Int();
        Assert.NotEqual(id, otherId);
        Assert.Contains($"id={otherId} ", (await c.CommandAsync("CLIENT", "LIST")).Str(), StringComparison.Ordinal);

        // What redis-py and node-redis send on connect: an error is fine, a closed connection is not.
        await c.CommandAsync("CLIENT", "MAINT_NOTIFICATIONS", "on", "moving-endpoint-type", "none");
        await AssertStillOpenAsync(c);
    }

    [Fact]
    public async Task Echo_is_binary_safe()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("hello", (await c.CommandAsync("ECHO", "hello")).Str());
        var bytes = new byte[256];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)i;
        }

        var request = new List<byte>();
        request.AddRange(Encoding.ASCII.GetBytes("*2\r\n$4\r\nECHO\r\n$256\r\n"));
        request.AddRange(bytes);
        request.AddRange("\r\n"u8.ToArray());
        await c.SendAsync(request.ToArray());
        var reply = await c.ReadReplyAsync();
        Assert.Equal(RespType.BulkString, reply.Type);
        Assert.Equal(bytes, reply.Bytes);
    }

    [Fact]
    public async Task Select_zero_only()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("SELECT", "0")).Str());
        Assert.True((await c.CommandAsync("SELECT", "1")).IsError());
        Assert.True((await c.CommandAsync("SELECT", "abc")).IsError());
        Assert.Equal("OK", (await c.CommandAsync("select", "0")).Str());
        await AssertStillOpenAsync(c);
    }

    [Fact]
    public async Task Info_config_command_time_dbsize()
    {
        await using var c = await Server.OpenRawAsync();
        string info = (await c.CommandAsync("INFO")).Str();
        Assert.Contains("redis_version:", info, StringComparison.Ordinal);
        Assert.Contains("loading:0", info, StringComparison.Ordinal);
        Assert.Contains("redis_version:", (await c.CommandAsync("INFO", "server")).Str(), StringComparison.Ordinal);
        Assert.False((await c.CommandAsync("INFO", "replication")).IsError());
        Assert.Contains("role:master", (await c.CommandAsync("INFO", "replication")).Str(), StringComparison.Ordinal);

        Assert.True((await c.CommandAsync("COMMAND", "COUNT")).Int() > 0);
        Assert.False((await c.CommandAsync("COMMAND", "DOCS")).IsError());
        Assert.False((await c.CommandAsync("COMMAND", "DOCS", "ADD")).IsError());
        var commandInfo = await c.CommandAsync("COMMAND", "INFO", "ADD", "GET");
        Assert.Equal(2, commandInfo.Arr().Count);

        foreach (var parameter in new[] { "databases", "replica-read-only", "slave-read-only", "*max-*-entries*", "nothing-like-this" })
        {
            var config = await c.CommandAsync("CONFIG", "GET", parameter);
            Assert.True(config.Type is RespType.Array, $"CONFIG GET {parameter}: {RespText.Describe(config)}");
            Assert.True(config.Items.Count % 2 == 0);
        }

        var databases = (await c.CommandAsync("CONFIG", "GET", "databases")).Strings();
        Assert.Equal(2, databases.Count);
        Assert.Equal("databases", databases[0]);
        Assert.True(int.TryParse(databases[1], out int dbs) && dbs >= 1, $"CONFIG GET databases: {databases[1]}");

        var time = (await c.CommandAsync("TIME")).Strings();
        Assert.Equal(2, time.Count);
        long seconds = long.Parse(time[0], System.Globalization.CultureInfo.InvariantCulture);
        long micros = long.Parse(time[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(micros, 0, 999_999);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 300);

        Assert.Equal((await c.CommandAsync("STREAMCOUNT")).Int(), (await c.CommandAsync("DBSIZE")).Int());
    }

    [Fact]
    public async Task Cluster_and_sentinel_commands_are_errors_that_keep_the_connection()
    {
        await using var c = await Server.OpenRawAsync();
        foreach (var sub in new[] { "NODES", "SLOTS", "INFO", "SHARDS" })
        {
            var reply = await c.CommandAsync("CLUSTER", sub);
            Assert.True(reply.IsError(), $"CLUSTER {sub}: {RespText.Describe(reply)}");
            await AssertStillOpenAsync(c);
        }

        await c.CommandAsync("SENTINEL", "MASTERS");
        await AssertStillOpenAsync(c);

        // What StackExchange.Redis asks for next.
        Assert.False((await c.CommandAsync("GET", "__Booksleeve_TieBreak")).IsError());
        await AssertStillOpenAsync(c);
    }

    [Fact]
    public async Task Subscribe_confirms_with_an_array_in_resp2_and_a_push_in_resp3()
    {
        await using (var c = await Server.OpenRawAsync())
        {
            var reply = await c.CommandAsync("SUBSCRIBE", "stream:x", "$all");
            Assert.Equal(RespType.Array, reply.Type);
            Assert.Equal(["subscribe", "stream:x"], reply.Items.Take(2).Select(i => i.Str()));
            Assert.Equal(1, reply.Items[2].Int());
            var second = await c.ReadReplyAsync();
            Assert.Equal("$all", second.Items[1].Str());
            Assert.Equal(2, second.Items[2].Int());
        }

        await using (var c = await Server.OpenRawAsync())
        {
            await c.CommandAsync("HELLO", "3");
            var reply = await c.CommandRawAsync("SUBSCRIBE", "__Booksleeve_MasterChanged");
            Assert.True(reply.Value.Type == RespType.Push, $"RESP3 subscribe confirmation must be a push frame: {reply.RawText}");
            Assert.Equal("subscribe", reply.Value.Items[0].Str());
            Assert.Equal("__Booksleeve_MasterChanged", reply.Value.Items[1].Str());

            // Under RESP3 the connection still runs normal commands.
            Assert.Equal("x", (await c.CommandAsync("ECHO", "x")).Str());
            Assert.True((await c.CommandAsync("EVENTCOUNT")).Int() >= 0);
        }
    }

    [Fact]
    public async Task Quit_answers_ok_and_closes()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("QUIT")).Str());
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)), "the server did not close the connection after QUIT");
    }

    [Fact]
    public async Task Command_names_in_any_case()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("pInG")).Str());
        Assert.Equal("x", (await c.CommandAsync("echo", "x")).Str());
        Assert.Equal("OK", (await c.CommandAsync("Client", "SetName", "n")).Str());
        Assert.Equal("n", (await c.CommandAsync("CLIENT", "getname")).Str());
        Assert.Single(await c.EventsAsync("aDd", Unique("case"), "any", "T", "x"));
    }
}
