using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>The INFO sections of SPEC "Backups and operations" and the JSON log format.</summary>
public sealed class InfoAndLogFormatTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task INFO_has_every_section_of_the_SPEC_and_the_store_work_with_commit_percentiles()
    {
        var server = await StartServerAsync("--checkpoint-interval", "1");
        await using var c = await server.OpenRawAsync();
        for (int i = 0; i < 3; i++)
        {
            await c.EventsAsync("ADD", "meters", "any", "Read", "{}");
        }

        string all = (await c.CommandAsync("INFO")).Str();
        foreach (string section in (string[])["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "Cluster", "Eventflowdb"])
        {
            Assert.Contains($"# {section}\r\n", all, StringComparison.Ordinal);
        }

        var fields = await WaitForAsync(c, f => f["checkpoints"] != "0");
        Assert.Equal("3", fields["events"]);
        Assert.Equal("3", fields["appends"]);
        Assert.True(long.Parse(fields["log_bytes"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(long.Parse(fields["commits"], System.Globalization.CultureInfo.InvariantCulture) >= 1);
        long p50 = long.Parse(fields["commit_latency_p50_us"], System.Globalization.CultureInfo.InvariantCulture);
        long p99 = long.Parse(fields["commit_latency_p99_us"], System.Globalization.CultureInfo.InvariantCulture);
        long max = long.Parse(fields["commit_latency_max_us"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"p50 {p50} p99 {p99} max {max}");
        Assert.InRange(long.Parse(fields["last_checkpoint_age_seconds"], System.Globalization.CultureInfo.InvariantCulture), 0, 60);
        Assert.Contains("cluster_enabled:0", (await c.CommandAsync("INFO", "cluster")).Str(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_log_format_json_every_line_is_a_compact_JSON_event()
    {
        var server = await StartServerAsync("--log-format", "json");
        await using (var c = await server.OpenRawAsync())
        {
            await c.EventsAsync("ADD", "s", "any", "T", "{}");
        }

        await server.StopAsync();
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith("---", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(lines);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.All(events, e => Assert.True(e.TryGetProperty("@t", out _) && e.TryGetProperty("@mt", out _), e.ToString()));
        Assert.Contains(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Listening on", StringComparison.Ordinal) && e.TryGetProperty("Endpoint", out _));
        Assert.Contains(events, e => e.GetProperty("@mt").GetString() == "Store closed");
    }

    private static async Task<Dictionary<string, string>> WaitForAsync(RespConnection c, Func<Dictionary<string, string>, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            string text = (await c.CommandAsync("INFO", "eventflowdb")).Str();
            var fields = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
                .Where(line => !line.StartsWith('#'))
                .Select(line => line.Split(':', 2))
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
            if (condition(fields) || DateTime.UtcNow > deadline)
            {
                return fields;
            }

            await Task.Delay(100);
        }
    }
}
