using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>SPEC.md v2: every limit has a flag, INFO shows its current value and CONFIG GET returns it by name.</summary>
public sealed class LimitSettingsTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Info_and_config_get_show_the_limits_given_by_flags()
    {
        var server = await StartServerAsync(
            "--maxclients", "77", "--timeout", "12", "--tcp-keepalive", "60", "--max-page-bytes", "2mb",
            "--client-output-buffer-limit", "pubsub 4mb 1mb 7");
        await using var c = await server.OpenRawAsync();

        var config = (await c.CommandAsync("CONFIG", "GET", "*")).Items.Select(i => i.Str()).Chunk(2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("77", config["maxclients"]);
        Assert.Equal("12", config["timeout"]);
        Assert.Equal("60", config["tcp-keepalive"]);
        Assert.Equal("2097152", config["max-page-bytes"]);
        Assert.Equal("normal 268435456 67108864 60 pubsub 4194304 1048576 7", config["client-output-buffer-limit"]);

        // Redis clients ask for one setting by its exact name.
        var one = (await c.CommandAsync("CONFIG", "GET", "maxclients")).Items.Select(i => i.Str()).ToList();
        Assert.Equal(["maxclients", "77"], one);

        string info = (await c.CommandAsync("INFO", "limits")).Str();
        Assert.Contains("maxclients:77\r\n", info, StringComparison.Ordinal);
        Assert.Contains("timeout:12\r\n", info, StringComparison.Ordinal);
        Assert.Contains("tcp_keepalive:60\r\n", info, StringComparison.Ordinal);
        Assert.Contains("max_page_bytes:2097152\r\n", info, StringComparison.Ordinal);
        Assert.Contains("client_output_buffer_limit:normal 268435456 67108864 60 pubsub 4194304 1048576 7\r\n", info, StringComparison.Ordinal);
        Assert.Contains("maxclients:77\r\n", (await c.CommandAsync("INFO", "clients")).Str(), StringComparison.Ordinal);
        Assert.Contains("rejected_connections:0\r\n", (await c.CommandAsync("INFO")).Str(), StringComparison.Ordinal);
    }
}
