using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>A server started with <c>--password</c>.</summary>
public sealed class AuthTests(PasswordServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<PasswordServerFixture>(fixture, output), IClassFixture<PasswordServerFixture>
{
    private const string Pw = PasswordServerFixture.Password;
    private const string NoAuth = "NOAUTH Authentication required.";
    private const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

    [Theory]
    [InlineData("PING")]
    [InlineData("ECHO|x")]
    [InlineData("ADD|s|any|T|x")]
    [InlineData("ADD|{\"stream\":\"s\",\"events\":[{\"type\":\"T\",\"data\":1}]}")]
    [InlineData("GET|s")]
    [InlineData("GETALL")]
    [InlineData("CHECKSUM")]
    [InlineData("EVENTCOUNT")]
    [InlineData("STREAMCOUNT")]
    [InlineData("EVENTCOUNTEST")]
    [InlineData("STREAMCOUNTEST")]
    [InlineData("SIZE")]
    [InlineData("UPTIME")]
    [InlineData("VERSION")]
    [InlineData("LISTSTREAMS")]
    [InlineData("INFO")]
    [InlineData("SELECT|0")]
    [InlineData("CLIENT|SETNAME|x")]
    [InlineData("CONFIG|GET|databases")]
    [InlineData("DBSIZE")]
    [InlineData("TIME")]
    [InlineData("SUBSCRIBE|x")]
    public async Task Every_command_needs_auth_first(string commandLine)
    {
        string[] command = commandLine.Split('|');
        await using var c = await Server.OpenRawAsync();
        var reply = await c.CommandAsync(command);
        Assert.True(reply.IsError() && reply.Text == NoAuth, $"{string.Join(' ', command)} before AUTH: {RespText.Describe(reply)}");
        await c.SendAsync("PING\r\n");
        Assert.Equal(NoAuth, (await c.ReadReplyAsync()).Text);

        Assert.Equal("OK", (await c.CommandAsync("AUTH", Pw)).Str());
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task Nothing_is_written_before_auth()
    {
        string stream = Unique("noauth");
        await using var c = await Server.OpenRawAsync();
        Assert.Equal(NoAuth, (await c.CommandAsync("ADD", stream, "any", "T", "x")).Text);
        Assert.Equal("OK", (await c.CommandAsync("AUTH", Pw)).Str());
        Assert.Empty(await c.EventsAsync("GET", stream));
    }

    [Fact]
    public async Task Wrong_passwords_are_rejected()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal(WrongPass, (await c.CommandAsync("AUTH", "nope")).Text);
        Assert.Equal(WrongPass, (await c.CommandAsync("AUTH", "default", "nope")).Text);
        Assert.Equal(WrongPass, (await c.CommandAsync("AUTH", "someone", Pw)).Text);
        Assert.Equal(WrongPass, (await c.CommandAsync("AUTH", Pw + "x")).Text);
        Assert.Equal(WrongPass, (await c.CommandAsync("AUTH", "")).Text);
        Assert.Equal(NoAuth, (await c.CommandAsync("PING")).Text);
        var hello = await c.CommandAsync("HELLO", "3", "AUTH", "default", "nope");
        Assert.Equal(WrongPass, hello.Text);
        Assert.Equal(NoAuth, (await c.CommandAsync("EVENTCOUNT")).Text);
    }

    [Fact]
    public async Task Auth_with_password_or_default_user()
    {
        await using (var c = await Server.OpenRawAsync())
        {
            Assert.Equal("OK", (await c.CommandAsync("AUTH", Pw)).Str());
            Assert.True((await c.CommandAsync("EVENTCOUNT")).Int() >= 0);
        }

        await using (var c = await Server.OpenRawAsync())
        {
            Assert.Equal("OK", (await c.CommandAsync("auth", "default", Pw)).Str());
            string stream = Unique("auth");
            Assert.Single(await c.EventsAsync("ADD", stream, "any", "T", "x"));
        }
    }

    [Fact]
    public async Task Hello_3_with_auth()
    {
        await using var c = await Server.OpenRawAsync();
        var hello = await c.CommandRawAsync("HELLO", "3", "AUTH", "default", Pw);
        Assert.True(hello.Value.Type == RespType.Map, hello.RawText);
        Assert.Equal("+PONG\r\n", (await c.CommandRawAsync("PING")).RawText);
        Assert.StartsWith(":", (await c.CommandRawAsync("EVENTCOUNT")).RawText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quit_works_before_auth()
    {
        await using var c = await Server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("QUIT")).Str());
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Auth_is_per_connection()
    {
        await using var a = await Server.OpenRawAsync();
        await using var b = await Server.OpenRawAsync();
        Assert.Equal("OK", (await a.CommandAsync("AUTH", Pw)).Str());
        Assert.Equal("PONG", (await a.CommandAsync("PING")).Str());
        Assert.Equal(NoAuth, (await b.CommandAsync("PING")).Text);
    }

    [Fact]
    public async Task StackExchange_redis_with_the_password()
    {
        await using var muxer = await Server.ConnectAsync();
        Assert.True(muxer.IsConnected, muxer.GetStatus());
        var db = muxer.GetDatabase();
        string stream = Unique("se-auth");
        var added = await db.EventsAsync("ADD", stream, "any", "T", "x");
        Assert.Equal([added[0].Raw], await db.StringsAsync("GET", stream));
    }

    [Fact]
    public async Task StackExchange_redis_without_the_password_fails()
    {
        await using var muxer = await Server.ConnectAsync(o =>
        {
            o.Password = null;
            o.ConnectTimeout = 2000;
            o.AsyncTimeout = 3000;
            o.ConnectRetry = 1;
        }, waitUntilConnected: false);
        Assert.False(muxer.IsConnected);
        await Assert.ThrowsAnyAsync<RedisException>(() => muxer.GetDatabase().ExecuteAsync("EVENTCOUNT"));
    }

    [Fact]
    public async Task Redis_cli_with_and_without_password()
    {
        Assert.Equal("PONG\n", await Server.RedisCli("PING"));
        string stream = Unique("cli-auth");
        var line = (await Server.RedisCli("ADD", stream, "any", "T", "x")).TrimEnd('\n');
        Assert.Equal(stream, StoredEvent.Parse(line).Stream);

        var without = await Server.RedisCliRawAsync(["GET", stream], withPassword: false);
        Assert.Contains("NOAUTH", without.Stdout + without.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(stream, without.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_password_it_listens_on_all_interfaces()
    {
        Assert.Contains("Listening on", Server.Output, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0", Server.Output, StringComparison.Ordinal);
        await using var c = await Server.OpenAuthenticatedRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }
}
