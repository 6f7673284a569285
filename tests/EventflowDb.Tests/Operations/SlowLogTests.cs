using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>SLOWLOG as Redis has it, its settings by flag and by CONFIG SET, and what it leaves out.</summary>
public sealed class SlowLogTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task With_threshold_0_every_command_is_logged_newest_first_with_its_arguments_and_client()
    {
        var server = await StartServerAsync("--slowlog-log-slower-than", "0");
        await using var c = await server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("CLIENT", "SETNAME", "auditor")).Str());
        await c.EventsAsync("ADD", "orders-7", "any", "Placed", "{\"total\":5}");
        await c.CommandAsync("ECHO", new string('x', 300));

        var entries = (await c.CommandAsync("SLOWLOG", "GET", "2")).Arr();
        Assert.Equal(2, entries.Count);
        var echo = entries[0].Arr();
        var add = entries[1].Arr();
        Assert.True(echo[0].Int() > add[0].Int(), "ids grow, newest first");
        Assert.InRange(echo[1].Int(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.True(add[2].Int() >= 0);
        Assert.Equal(["ADD", "orders-7", "any", "Placed", "{\"total\":5}"], add[3].Strings());
        Assert.Equal(new string('x', 128) + "... (172 more bytes)", echo[3].Arr()[1].Str());
        Assert.StartsWith("127.0.0.1:", add[4].Str(), StringComparison.Ordinal);
        Assert.Equal("auditor", add[5].Str());

        long length = (await c.CommandAsync("SLOWLOG", "LEN")).Int();
        Assert.True(length >= 4, $"{length} entries");
        Assert.Equal("OK", (await c.CommandAsync("SLOWLOG", "RESET")).Str());
        Assert.InRange((await c.CommandAsync("SLOWLOG", "LEN")).Int(), 0, 1);
    }

    [Fact]
    public async Task Passwords_never_reach_the_slowlog()
    {
        var server = await StartServerAsync(new ServerSettings { Password = "hunter2", ExtraArgs = ["--slowlog-log-slower-than", "0"] });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("AUTH", "hunter2")).Str());
        Assert.Equal("OK", (await c.CommandAsync("ACL", "SETUSER", "reader", "on", ">reader-pass", "+@read", "~*")).Str());
        var all = (await c.CommandAsync("SLOWLOG", "GET", "-1")).Arr();
        string logged = string.Join("|", all.SelectMany(e => e.Arr()[3].Strings()));
        Assert.DoesNotContain("hunter2", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("reader-pass", logged, StringComparison.Ordinal);
        Assert.Contains("(redacted)", logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CONFIG_SET_changes_threshold_and_length_and_a_long_BLOCK_wait_is_not_slow_work()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenRawAsync();
        var config = (await c.CommandAsync("CONFIG", "GET", "slowlog-*")).Strings();
        Assert.Equal(["slowlog-log-slower-than", "10000", "slowlog-max-len", "128"], config);

        // 500 ms threshold: a GETALL that waits 1.5 s for events (BLOCK) did almost no work of its own. (One short
        // BLOCK first, so that no first-call compilation is measured.)
        Assert.Equal("OK", (await c.CommandAsync("CONFIG", "SET", "slowlog-log-slower-than", "500000", "slowlog-max-len", "3")).Str());
        Assert.Empty((await c.CommandAsync("GETALL", "0", "10", "BLOCK", "1")).Arr());
        Assert.Equal("OK", (await c.CommandAsync("SLOWLOG", "RESET")).Str());
        Assert.Empty((await c.CommandAsync("GETALL", "0", "10", "BLOCK", "1500")).Arr());
        var logged = (await c.CommandAsync("SLOWLOG", "GET")).Arr();
        Assert.True(logged.Count == 0, string.Join("; ", logged.Select(e => $"{e.Arr()[2].Int()} us: {string.Join(' ', e.Arr()[3].Strings())}")));

        Assert.Equal("OK", (await c.CommandAsync("CONFIG", "SET", "slowlog-log-slower-than", "0")).Str());
        for (int i = 0; i < 5; i++)
        {
            await c.CommandAsync("PING");
        }

        Assert.Equal(3, (await c.CommandAsync("SLOWLOG", "LEN")).Int());
        Assert.Equal(["slowlog-max-len", "3"], (await c.CommandAsync("CONFIG", "GET", "slowlog-max-len")).Strings());

        Assert.Equal("OK", (await c.CommandAsync("CONFIG", "SET", "slowlog-log-slower-than", "-1")).Str());
        Assert.Equal("OK", (await c.CommandAsync("SLOWLOG", "RESET")).Str());
        await c.CommandAsync("PING");
        Assert.Equal(0, (await c.CommandAsync("SLOWLOG", "LEN")).Int());

        // Bad values change nothing, as Redis: every pair is checked first.
        var refused = await c.CommandAsync("CONFIG", "SET", "slowlog-max-len", "5", "slowlog-log-slower-than", "soon");
        Assert.True(refused.IsError());
        Assert.Equal(["slowlog-max-len", "3"], (await c.CommandAsync("CONFIG", "GET", "slowlog-max-len")).Strings());
        Assert.True((await c.CommandAsync("SLOWLOG", "GET", "-2")).IsError());
        Assert.True((await c.CommandAsync("SLOWLOG", "NOPE")).IsError());
    }

    [Fact]
    public async Task SLOWLOG_is_an_admin_command()
    {
        var server = await StartServerAsync(new ServerSettings { Password = "root-pass" });
        await using var admin = await server.OpenRawAsync();
        await admin.CommandAsync("AUTH", "root-pass");
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "app", "on", ">app-pass", "+@read", "+@write", "~*")).Str());
        await using var app = await server.OpenRawAsync();
        Assert.Equal("OK", (await app.CommandAsync("AUTH", "app", "app-pass")).Str());
        Assert.StartsWith("NOPERM", await app.ErrorAsync("SLOWLOG", "GET"), StringComparison.Ordinal);
    }
}
