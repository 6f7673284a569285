using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>Users, command categories and stream patterns (SPEC "TLS and users"), on a server with <c>--password</c>.</summary>
public sealed class AclTests(AclServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<AclServerFixture>(fixture, output), IClassFixture<AclServerFixture>
{
    private const string Secret = "user-secret";
    private const string StreamRefused = "NOPERM No permissions to access a stream";
    private const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

    private async Task<string> CreateUserAsync(params string[] rules)
    {
        string user = Unique("u");
        await SetUserAsync(user, ["on", ">" + Secret, .. rules]);
        return user;
    }

    private async Task SetUserAsync(string user, params string[] rules)
    {
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        var reply = await admin.CommandAsync(["ACL", "SETUSER", user, .. rules]);
        Assert.True(reply.Str() == "OK", $"ACL SETUSER {user} {string.Join(' ', rules)}: {RespText.Describe(reply)}");
    }

    private async Task<RespConnection> SignInAsync(string user, string password = Secret)
    {
        var c = await Server.OpenRawAsync();
        var reply = await c.CommandAsync("AUTH", user, password);
        Assert.True(reply.Str() == "OK", $"AUTH {user}: {RespText.Describe(reply)}");
        return c;
    }

    private static string CommandRefused(string user, string command) => $"NOPERM User {user} has no permissions to run the '{command}' command";

    [Fact]
    public async Task A_user_limited_to_write_orders_streams_writes_them_and_reads_everything()
    {
        string user = await CreateUserAsync("%W~orders-*", "%R~*", "+@read", "+@write");
        string orders = Unique("orders");
        string payments = Unique("payments");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        await admin.EventsAsync("ADD", payments, "any", "Paid", "{}");
        var before = await StoreState.ReadAsync(admin);

        await using var c = await SignInAsync(user);
        Assert.Single(await c.EventsAsync("ADD", orders, "no_stream", "Placed", "{\"n\":1}"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("ADD", payments, "any", "Paid", "{}"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("ADD", $"{{\"stream\":\"{payments}\",\"events\":[{{\"type\":\"Paid\",\"data\":1}}]}}"));

        Assert.Single(await c.EventsAsync("GET", payments));
        Assert.Single(await c.EventsAsync("GET", orders));
        Assert.NotEmpty(await c.EventsAsync("GETALL", "0", "10"));
        Assert.False((await c.CommandAsync("LISTSTREAMS")).IsError());

        var after = await StoreState.ReadAsync(admin);
        Assert.Equal(before.Events + 1, after.Events);
        Assert.Single(await admin.EventsAsync("GET", payments));
    }

    [Fact]
    public async Task A_read_only_user_cannot_add_and_the_store_does_not_change()
    {
        string user = await CreateUserAsync("~*", "+@read");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        string stream = Unique("ro");
        await admin.EventsAsync("ADD", stream, "any", "T", "1");
        var before = await StoreState.ReadAsync(admin);

        await using var c = await SignInAsync(user);
        Assert.Equal(CommandRefused(user, "add"), await c.ErrorAsync("ADD", stream, "any", "T", "2"));
        Assert.Equal(CommandRefused(user, "add"), await c.ErrorAsync("ADD", $"{{\"stream\":\"{stream}\",\"events\":[{{\"type\":\"T\",\"data\":1}}]}}"));
        Assert.Single(await c.EventsAsync("GET", stream));
        Assert.Equal(before, await StoreState.ReadAsync(admin));
    }

    [Theory]
    [InlineData("+@read", "GET|s", true)]
    [InlineData("+@read", "GETALL", true)]
    [InlineData("+@read", "LISTSTREAMS", true)]
    [InlineData("+@read", "EVENTCOUNT", true)]
    [InlineData("+@read", "CHECKSUM", true)]
    [InlineData("+@read", "FOLLOW|$all|0", true)]
    [InlineData("+@read", "ADD|s|any|T|1", false)]
    [InlineData("+@read", "SUBSCRIBE|x", false)]
    [InlineData("+@read", "GROUP|INFO", false)]
    [InlineData("+@read", "CONFIG|GET|port", false)]
    [InlineData("+@read", "ACL|USERS", false)]
    [InlineData("+@write", "ADD|s|any|T|1", true)]
    [InlineData("+@write", "GET|s", false)]
    [InlineData("+@pubsub", "SUBSCRIBE|x", true)]
    [InlineData("+@pubsub", "PSUBSCRIBE|x*", true)]
    [InlineData("+@pubsub", "FOLLOW|$all|0", true)]
    [InlineData("+@pubsub", "GET|s", false)]
    [InlineData("+@group", "GROUP|INFO", true)]
    [InlineData("+@group", "GETALL", false)]
    [InlineData("+@admin", "CONFIG|GET|port", true)]
    [InlineData("+@admin", "ACL|USERS", true)]
    [InlineData("+@admin", "CLIENT|LIST", true)]
    [InlineData("+@admin", "ADD|s|any|T|1", false)]
    [InlineData("+@connection", "CLIENT|LIST", false)]
    [InlineData("-@all", "PING", true)]
    [InlineData("-@all", "ECHO|x", true)]
    [InlineData("-@all", "INFO", true)]
    [InlineData("-@all", "ACL|WHOAMI", true)]
    [InlineData("-@all", "CLIENT|SETNAME|x", true)]
    [InlineData("-@all", "GET|s", false)]
    [InlineData("nocommands", "GET|s", false)]
    [InlineData("allcommands", "ADD|s|any|T|1", true)]
    [InlineData("+@all", "ACL|USERS", true)]
    [InlineData("+@all|-@admin", "CONFIG|GET|port", false)]
    [InlineData("+@all|-@admin", "GET|s", true)]
    [InlineData("+@read|-get", "GET|s", false)]
    [InlineData("+@read|-get", "GETALL", true)]
    [InlineData("-@all|+get", "GET|s", true)]
    [InlineData("+get|-@read", "GET|s", false)]
    [InlineData("+@all|-@read|+get", "GET|s", true)]
    [InlineData("+@read|-@pubsub", "FOLLOW|$all|0", false)]
    public async Task Command_rules_apply_in_order(string rules, string commandLine, bool allowed)
    {
        string user = await CreateUserAsync(["~*", .. rules.Split('|')]);
        string[] command = commandLine.Split('|');
        if (command.Length > 1 && command[1] == "s")
        {
            command[1] = Unique("s");
        }

        await using var c = await SignInAsync(user);
        var reply = await c.CommandAsync(command);
        bool refused = reply.IsError() && reply.Text!.StartsWith("NOPERM", StringComparison.Ordinal);
        Assert.True(allowed != refused, $"{rules}: {commandLine} gave {RespText.Describe(reply)}");
        if (refused)
        {
            Assert.Equal(CommandRefused(user, command[0].ToLowerInvariant()), reply.Text);
        }
    }

    [Fact]
    public async Task Stream_patterns_limit_gets_getall_channels_and_liststreams()
    {
        string category = "acct" + Guid.NewGuid().ToString("N")[..12];
        string other = "other" + Guid.NewGuid().ToString("N")[..12];
        string user = await CreateUserAsync($"~{category}-*", "+@all");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        string mine = $"{category}-1";
        await admin.EventsAsync("ADD", mine, "any", "Opened", "{}");
        await admin.EventsAsync("ADD", category, "any", "Opened", "{}");
        await admin.EventsAsync("ADD", $"{other}-1", "any", "Opened", "{}");

        await using var c = await SignInAsync(user);
        Assert.Single(await c.EventsAsync("GET", mine));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GET", $"{other}-1"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GET", category));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GETALL"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GETALL", "0", "10", "CHANNEL", "$all"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GETALL", "0", "10", "CHANNEL", "type:Opened"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GETALL", "0", "10", "CHANNEL", $"category:{other}"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GETALL", "0", "10", "CHANNEL", $"stream:{other}-1"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("LISTSTREAMS"));

        // The category's channel is covered by ~<category>-*; the stream named just <category> is not, and is left out.
        var page = await c.EventsAsync("GETALL", "0", "1000", "CHANNEL", $"category:{category}");
        Assert.Equal([mine], page.Select(e => e.Stream).ToList());
        Assert.Single(await c.EventsAsync("GETALL", "0", "1000", "CHANNEL", $"stream:{mine}"));
    }

    [Fact]
    public async Task Subscriptions_obey_read_patterns_and_deliver_only_readable_events()
    {
        string category = "acct" + Guid.NewGuid().ToString("N")[..12];
        string user = await CreateUserAsync($"~{category}-*", "+@all");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        await admin.EventsAsync("ADD", $"{category}-1", "any", "Opened", "{\"n\":1}");

        await using var c = await SignInAsync(user);
        Assert.Equal(StreamRefused, await c.ErrorAsync("FOLLOW", "$all", "0"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("FOLLOW", "type:Opened", "0"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("SUBSCRIBE", "stream:elsewhere-1"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("SUBSCRIBE", "ok-channel", "$all"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("PSUBSCRIBE", "stream:*"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("PSUBSCRIBE", "*"));

        var follow = await c.CommandAsync("FOLLOW", $"category:{category}", "0");
        Assert.Equal("subscribe", follow.Arr()[0].Str());
        var history = (await c.ReadReplyAsync()).Arr();
        Assert.Contains($"{category}-1", history[2].Str(), StringComparison.Ordinal);

        var pattern = await c.CommandAsync("PSUBSCRIBE", $"stream:{category}-*");
        Assert.Equal("psubscribe", pattern.Arr()[0].Str());
        var plain = await c.CommandAsync("SUBSCRIBE", "a-channel-of-no-events");
        Assert.Equal("subscribe", plain.Arr()[0].Str());

        // The stream named exactly <category> is in the category but not readable: not delivered.
        await admin.EventsAsync("ADD", category, "any", "Opened", "{\"n\":2}");
        await admin.EventsAsync("ADD", $"{category}-2", "any", "Opened", "{\"n\":3}");
        var frames = await c.ReadRepliesAsync(2);
        foreach (var frame in frames)
        {
            string json = frame.Arr()[^1].Str();
            Assert.Contains($"\"stream\":\"{category}-2\"", json, StringComparison.Ordinal);
        }

        await c.SendCommandAsync("PING");
        var pong = await c.ReadReplyAsync();
        Assert.Equal("pong", pong.Arr()[0].Str());
    }

    [Fact]
    public async Task Consumer_groups_need_read_rights_on_their_channel()
    {
        string category = "acct" + Guid.NewGuid().ToString("N")[..12];
        string user = await CreateUserAsync($"~{category}-*", "+@all");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        string everything = Unique("g-all");
        Assert.Equal("OK", (await admin.CommandAsync("GROUP", "CREATE", everything, "$all", "$")).Str());
        await admin.EventsAsync("ADD", $"{category}-1", "any", "Opened", "{}");

        await using var c = await SignInAsync(user);
        Assert.Equal(StreamRefused, await c.ErrorAsync("GROUP", "CREATE", Unique("g"), "$all"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GROUP", "READ", everything, "me"));
        Assert.Equal(StreamRefused, await c.ErrorAsync("GROUP", "DELETE", everything));
        string mine = Unique("g-mine");
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", mine, $"category:{category}", "0")).Str());
        var read = await c.CommandAsync("GROUP", "READ", mine, "me");
        Assert.False(read.IsError(), RespText.Describe(read));
        Assert.Single(read.Arr());

        string info = RespText.Describe(await c.CommandAsync("GROUP", "INFO"));
        Assert.Contains(mine, info, StringComparison.Ordinal);
        Assert.DoesNotContain(everything, info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acl_log_records_refusals_with_user_object_and_client_address()
    {
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "LOG", "RESET")).Str());
        string user = await CreateUserAsync("%R~*", "+@read");
        string stream = Unique("logged");
        await using (var c = await SignInAsync(user))
        {
            await c.ErrorAsync("ADD", stream, "any", "T", "1");
            await c.ErrorAsync("ADD", stream, "any", "T", "1");
        }

        string writer = await CreateUserAsync("%W~mine-*", "+@all");
        await using (var c = await SignInAsync(writer))
        {
            Assert.Equal(StreamRefused, await c.ErrorAsync("ADD", stream, "any", "T", "1"));
            Assert.Equal(WrongPass, await c.ErrorAsync("AUTH", "nobody-" + user, "bad"));
        }

        var entries = (await admin.CommandAsync("ACL", "LOG")).Arr().Select(Map).ToList();
        var command = Assert.Single(entries, e => e["username"] == user);
        Assert.Equal("command", command["reason"]);
        Assert.Equal("add", command["object"]);
        Assert.Equal("2", command["count"]);
        Assert.Contains("addr=127.0.0.1:", command["client-info"], StringComparison.Ordinal);
        var key = Assert.Single(entries, e => e["username"] == writer);
        Assert.Equal("key", key["reason"]);
        Assert.Equal(stream, key["object"]);
        var auth = Assert.Single(entries, e => e["reason"] == "auth");
        Assert.Equal("nobody-" + user, auth["username"]);

        Assert.Single((await admin.CommandAsync("ACL", "LOG", "1")).Arr());
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "LOG", "RESET")).Str());
        Assert.Empty((await admin.CommandAsync("ACL", "LOG")).Arr());
    }

    private static Dictionary<string, string> Map(RespValue entry)
    {
        var items = entry.Arr();
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < items.Count; i += 2)
        {
            map[items[i].Str()] = items[i + 1].Type == RespType.Integer ? items[i + 1].Int().ToString(System.Globalization.CultureInfo.InvariantCulture) : items[i + 1].Str();
        }

        return map;
    }

    [Fact]
    public async Task Passwords_are_kept_as_sha256_and_can_be_added_removed_or_waived()
    {
        string user = Unique("pw");
        await SetUserAsync(user, "on", ">first", ">second", "~*", "+@all");
        await (await SignInAsync(user, "first")).DisposeAsync();
        await (await SignInAsync(user, "second")).DisposeAsync();

        await using var admin = await Server.OpenAuthenticatedRawAsync();
        string list = string.Join('\n', (await admin.CommandAsync("ACL", "LIST")).Strings());
        Assert.DoesNotContain("first", list, StringComparison.Ordinal);
        Assert.Contains("#" + Sha256("first"), list, StringComparison.Ordinal);
        string getUser = RespText.Describe(await admin.CommandAsync("ACL", "GETUSER", user));
        Assert.Contains(Sha256("second"), getUser, StringComparison.Ordinal);
        Assert.DoesNotContain("second\"", getUser, StringComparison.Ordinal);

        await SetUserAsync(user, "<first", "#" + Sha256("third"));
        await using var c = await Server.OpenRawAsync();
        Assert.Equal(WrongPass, await c.ErrorAsync("AUTH", user, "first"));
        Assert.Equal("OK", (await c.CommandAsync("AUTH", user, "third")).Str());

        await SetUserAsync(user, "nopass");
        Assert.Equal("OK", (await c.CommandAsync("AUTH", user, "anything")).Str());
        await SetUserAsync(user, "resetpass");
        Assert.Equal(WrongPass, await c.ErrorAsync("AUTH", user, "anything"));
        await SetUserAsync(user, ">back", "off");
        Assert.Equal(WrongPass, await c.ErrorAsync("AUTH", user, "back"));
        await SetUserAsync(user, "on");
        Assert.Equal("OK", (await c.CommandAsync("AUTH", user, "back")).Str());

        var hello = await c.CommandAsync("HELLO", "3", "AUTH", user, "back");
        Assert.False(hello.IsError(), RespText.Describe(hello));
        Assert.Equal(user, (await c.CommandAsync("ACL", "WHOAMI")).Str());
    }

    private static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData("bogus", "Syntax error")]
    [InlineData("+nosuchcommand", "Unknown command or category name in ACL")]
    [InlineData("+@nosuchcategory", "Unknown command or category name in ACL")]
    [InlineData("#abc", "The password hash must be exactly 64 characters")]
    [InlineData("<notset", "no such password")]
    [InlineData("%X~a", "Syntax error")]
    [InlineData("+config|get", "not supported")]
    public async Task A_bad_rule_is_refused_and_changes_nothing(string rule, string reason)
    {
        string user = Unique("bad");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        string error = await admin.ErrorAsync("ACL", "SETUSER", user, "on", ">x", "+@all", rule);
        Assert.StartsWith($"ERR Error in ACL SETUSER modifier '{rule}': ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var missing = await admin.CommandAsync("ACL", "GETUSER", user);
        Assert.True(missing.Type == RespType.Null || missing.Bytes is null && missing.Type != RespType.Array, $"the user must not exist: {RespText.Describe(missing)}");
        await using var c = await Server.OpenRawAsync();
        Assert.Equal(WrongPass, await c.ErrorAsync("AUTH", user, "x"));
    }

    [Fact]
    public async Task A_change_applies_to_open_sessions_and_deleting_a_user_closes_them()
    {
        string user = await CreateUserAsync("~*", "+@all");
        string stream = Unique("live");
        await using var c = await SignInAsync(user);
        Assert.Empty(await c.EventsAsync("GET", stream));

        await SetUserAsync(user, "-@read");
        Assert.Equal(CommandRefused(user, "get"), await c.ErrorAsync("GET", stream));
        await SetUserAsync(user, "+@read", "resetstreams", "%R~nothing-*");
        Assert.Equal(StreamRefused, await c.ErrorAsync("GET", stream));

        await using var admin = await Server.OpenAuthenticatedRawAsync();
        Assert.StartsWith("ERR", await admin.ErrorAsync("ACL", "DELUSER", "default"), StringComparison.Ordinal);
        Assert.Equal(1, (await admin.CommandAsync("ACL", "DELUSER", user, Unique("never-existed"))).Int());
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)), "the deleted user's connection must close");
        Assert.DoesNotContain(user, (await admin.CommandAsync("ACL", "USERS")).Strings());
    }

    [Fact]
    public async Task Save_without_an_acl_file_is_an_error()
    {
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        Assert.Contains("not configured to use an ACL file", await admin.ErrorAsync("ACL", "SAVE"), StringComparison.Ordinal);
        Assert.Contains("not configured to use an ACL file", await admin.ErrorAsync("ACL", "LOAD"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_clients_connect_as_a_user()
    {
        string user = await CreateUserAsync("~*", "+@read");
        var cli = await Server.RedisCliRawAsync(["--user", user, "--pass", Secret, "--no-auth-warning", "ACL", "WHOAMI"], withPassword: false);
        Assert.Equal(user, cli.Stdout.Trim());

        await using var redis = await Server.ConnectAsync(o =>
        {
            o.User = user;
            o.Password = Secret;
        });
        var db = redis.GetDatabase();
        string stream = Unique("se");
        Assert.Empty((RedisResult[])(await db.ExecuteAsync("GET", stream))!);
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("ADD", stream, "any", "T", "1"));
        Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);
    }
}
