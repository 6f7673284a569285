using System.Net;
using EventflowDb.Server.Configuration;

namespace EventflowDb.Tests.Unit;

public class OptionsParserTests
{
    private static ServerOptions Parse(string[] args, Dictionary<string, string>? env = null)
    {
        var options = OptionsParser.Parse(args, name => env is not null && env.TryGetValue(name, out var v) ? v : null, out string? message, out _);
        Assert.True(options is not null, message);
        return options!;
    }

    [Fact]
    public void Defaults_run_with_no_setup()
    {
        var options = Parse([]);
        Assert.Equal(6543, options.Port);
        Assert.Equal("./data", options.DataDirectory);
        Assert.Null(options.Password);
        Assert.Equal(IPAddress.Loopback, options.EffectiveBind);
        Assert.True(options.ProtectedMode);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CheckpointInterval);
        Assert.Equal(1000, options.DefaultPage);
        Assert.Equal(10_000, options.MaxPage);
        Assert.Equal(16L * 1024 * 1024, options.MaxPageBytes);
        Assert.Equal(10_000, options.MaxClients);
        Assert.Equal(TimeSpan.Zero, options.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(300), options.TcpKeepAlive);
        Assert.Equal(new OutputBufferLimit(256L << 20, 64L << 20, 60), options.NormalOutputLimit);
        Assert.Equal(new OutputBufferLimit(32L << 20, 8L << 20, 60), options.PubSubOutputLimit);
    }

    [Fact]
    public void Limits_take_redis_units_and_syntax()
    {
        var options = Parse(["--maxclients", "3", "--timeout=30", "--tcp-keepalive", "0", "--max-page-bytes", "1mb"]);
        Assert.Equal(3, options.MaxClients);
        Assert.Equal(TimeSpan.FromSeconds(30), options.IdleTimeout);
        Assert.Equal(TimeSpan.Zero, options.TcpKeepAlive);
        Assert.Equal(1024 * 1024, options.MaxPageBytes);
        Assert.Equal(2000, Parse(["--max-page-bytes", "2k"]).MaxPageBytes);
        Assert.Equal(4096, Parse(["--max-page-bytes", "4096"]).MaxPageBytes);

        // One class given: the other keeps its default, as in Redis.
        var pubsubOnly = Parse(["--client-output-buffer-limit", "pubsub 1mb 512kb 5"]);
        Assert.Equal(new OutputBufferLimit(1L << 20, 512L << 10, 5), pubsubOnly.PubSubOutputLimit);
        Assert.Equal(new ServerOptions().NormalOutputLimit, pubsubOnly.NormalOutputLimit);
        var both = Parse([], new Dictionary<string, string> { ["CLIENT_OUTPUT_BUFFER_LIMIT"] = "normal 0 0 0 PUBSUB 2GB 1gb 10" });
        Assert.Equal(new OutputBufferLimit(0, 0, 0), both.NormalOutputLimit);
        Assert.Equal(new OutputBufferLimit(2L << 30, 1L << 30, 10), both.PubSubOutputLimit);
        Assert.Equal("normal 0 0 0 pubsub 2147483648 1073741824 10", both.OutputBufferLimitText);
    }

    [Fact]
    public void Flags_win_over_environment_which_wins_over_defaults()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "7000", ["DATA"] = "/tmp/env-data", ["PASSWORD"] = "pw" };
        var options = Parse(["--port", "7100", "--max-page=50"], env);
        Assert.Equal(7100, options.Port);
        Assert.Equal("/tmp/env-data", options.DataDirectory);
        Assert.Equal("pw", options.Password);
        Assert.Equal(IPAddress.Any, options.EffectiveBind);
        Assert.Equal(50, options.MaxPage);
    }

    [Fact]
    public void Repair_is_off_by_default_and_a_bare_flag_turns_it_on()
    {
        Assert.False(Parse([]).Repair);
        Assert.True(Parse(["--repair"]).Repair);
        Assert.True(Parse(["--repair", "--port", "7000"]).Repair);
        Assert.Equal(7000, Parse(["--repair", "--port", "7000"]).Port);
        Assert.False(Parse(["--repair", "no"]).Repair);
        Assert.True(Parse(["--repair=yes"]).Repair);
        Assert.True(Parse([], new Dictionary<string, string> { ["REPAIR"] = "yes" }).Repair);
    }

    [Theory]
    [InlineData("--repair", "maybe")]
    [InlineData("--port", "70000")]
    [InlineData("--port", "abc")]
    [InlineData("--bind", "not-an-ip")]
    [InlineData("--protected-mode", "maybe")]
    [InlineData("--log-level", "loud")]
    [InlineData("--nonsense", "1")]
    [InlineData("--maxclients", "0")]
    [InlineData("--timeout", "-1")]
    [InlineData("--max-page-bytes", "12xb")]
    [InlineData("--max-page-bytes", "100")]
    [InlineData("--client-output-buffer-limit", "pubsub 1mb 1mb")]
    [InlineData("--client-output-buffer-limit", "replica 1mb 1mb 1")]
    [InlineData("--client-output-buffer-limit", "normal 1mb x 1")]
    public void Bad_values_are_reported(string flag, string value)
    {
        var options = OptionsParser.Parse([flag, value], _ => null, out string? message, out bool help);
        Assert.Null(options);
        Assert.False(help);
        Assert.False(string.IsNullOrEmpty(message));
    }

    [Fact]
    public void Help_lists_every_flag_with_its_variable()
    {
        var options = OptionsParser.Parse(["--help"], _ => null, out string? message, out bool help);
        Assert.Null(options);
        Assert.True(help);
        foreach (string flag in new[] { "--port", "--data", "--password", "--bind", "--protected-mode", "--checkpoint-interval", "--max-page", "--maxclients", "--timeout", "--tcp-keepalive", "--max-page-bytes", "--client-output-buffer-limit" })
        {
            Assert.Contains(flag, message, StringComparison.Ordinal);
        }

        Assert.Contains("CHECKPOINT_INTERVAL", message, StringComparison.Ordinal);
        Assert.Contains("default normal 256mb 64mb 60 pubsub 32mb 8mb 60", message, StringComparison.Ordinal);
        Assert.Contains("default 16mb", message, StringComparison.Ordinal);
    }
}
