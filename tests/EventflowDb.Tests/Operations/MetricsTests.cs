using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>The HTTP port's /health and /metrics (SPEC "HTTP", "Backups and operations"), scraped from a real server.</summary>
public sealed class MetricsTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Metrics_parse_as_Prometheus_text_and_count_what_clients_did()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        await using var c = await server.OpenRawAsync();
        for (int i = 0; i < 5; i++)
        {
            await c.EventsAsync("ADD", "orders-1", "any", "Placed", $"{{\"n\":{i}}}");
        }

        await c.EventsAsync("ADD", "orders-2", "any", "Placed", "{}");
        await using var follower = await server.OpenRawAsync();
        await follower.SendCommandAsync("SUBSCRIBE", "$all");
        await follower.ReadReplyAsync();

        var (types, samples) = PrometheusText.Parse(await ScrapeAsync(server));

        Assert.Equal("counter", types["eventflowdb_appends_total"]);
        Assert.Equal("histogram", types["eventflowdb_commit_duration_seconds"]);
        Assert.Equal(6, samples.Value("eventflowdb_appends_total"));
        Assert.Equal(6, samples.Value("eventflowdb_appended_events_total"));
        Assert.Equal(6, samples.Value("eventflowdb_events"));
        Assert.Equal(2, samples.Value("eventflowdb_streams"));
        Assert.True(samples.Value("eventflowdb_appended_bytes_total") > 6 * 20);
        Assert.True(samples.Value("eventflowdb_log_bytes") >= samples.Value("eventflowdb_appended_bytes_total"));
        double fsyncs = samples.Value("eventflowdb_fsyncs_total");
        Assert.InRange(fsyncs, 1, 6);
        Assert.Equal(2, samples.Value("eventflowdb_connections"));
        Assert.Equal(1, samples.Value("eventflowdb_subscriptions"));
        Assert.Equal(0, samples.Value("eventflowdb_read_only"));
        Assert.True(samples.Value("eventflowdb_commands_total") >= 7);

        // The histogram: cumulative buckets ending in +Inf, which equals _count, one observation per commit.
        var buckets = samples.Where(s => s.Name == "eventflowdb_commit_duration_seconds_bucket").ToList();
        Assert.Equal("+Inf", buckets[^1].Labels["le"]);
        for (int i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, "buckets are cumulative");
        }

        Assert.Equal(fsyncs, samples.Value("eventflowdb_commit_duration_seconds_count"));
        Assert.Equal(buckets[^1].Value, samples.Value("eventflowdb_commit_duration_seconds_count"));
        Assert.True(samples.Value("eventflowdb_commit_duration_seconds_sum") > 0);
        Assert.Contains(samples, s => s.Name == "process_cpu_seconds_total");
    }

    [Fact]
    public async Task Consumer_groups_have_their_pending_parked_and_lag_series_and_lose_them_when_deleted()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "billing", "$all", "0")).Str());
        for (int i = 0; i < 3; i++)
        {
            await c.EventsAsync("ADD", "invoices", "any", "Issued", "{}");
        }

        var read = await c.CommandAsync("GROUP", "READ", "billing", "worker-1", "COUNT", "2");
        Assert.Equal(2, read.Arr().Count);

        var (_, samples) = PrometheusText.Parse(await ScrapeAsync(server));
        Assert.Equal(2, samples.Value("eventflowdb_group_pending", ("group", "billing")));
        Assert.Equal(0, samples.Value("eventflowdb_group_parked", ("group", "billing")));
        Assert.True(samples.Value("eventflowdb_group_lag_seconds", ("group", "billing")) >= 0);

        Assert.False((await c.CommandAsync("GROUP", "DELETE", "billing")).IsError());
        (_, samples) = PrometheusText.Parse(await ScrapeAsync(server));
        Assert.DoesNotContain(samples, s => s.Name == "eventflowdb_group_pending");
    }

    [Fact]
    public async Task The_Grafana_dashboard_queries_only_metrics_the_server_exposes()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "projector", "$all", "$")).Str());
        var (types, _) = PrometheusText.Parse(await ScrapeAsync(server));

        string dashboard = await File.ReadAllTextAsync(Path.Combine(ServerProcess.RepoRoot, "docs", "grafana-dashboard.json"));
        var queries = JsonDocument.Parse(dashboard).RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => target.GetProperty("expr").GetString()!))
            .ToList();
        Assert.NotEmpty(queries);
        var used = queries.SelectMany(q => System.Text.RegularExpressions.Regex.Matches(q, @"\b(eventflowdb|process)_[a-z_]+").Select(m => m.Value)).ToHashSet();
        foreach (string metric in used)
        {
            string family = metric.EndsWith("_bucket", StringComparison.Ordinal) ? metric[..^"_bucket".Length] : metric;
            Assert.True(types.ContainsKey(family), $"the dashboard queries {metric}, which /metrics does not have");
        }
    }

    [Fact]
    public async Task With_a_password_metrics_need_HTTP_Basic_and_health_does_not()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = "s3cret" });

        using (var health = await Http.GetAsync(new Uri(server.HttpAddress, "/health")))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("serving", body.GetProperty("status").GetString());
        }

        using (var anonymous = await Http.GetAsync(new Uri(server.HttpAddress, "/metrics")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains("Basic", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.Equal("NOAUTH", JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetWithBasicAsync(server, "default", "wrong")).StatusCode);
        using var allowed = await GetWithBasicAsync(server, "default", "s3cret");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.StartsWith("text/plain", allowed.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        PrometheusText.Parse(await allowed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_healthcheck_verb_exits_0_for_a_serving_server_and_1_when_none_answers()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        string port = server.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (serving, servingOutput) = await ServerProcess.RunToExitAsync(["healthcheck", port]);
        Assert.True(serving == 0, servingOutput);
        Assert.Contains("\"serving\"", servingOutput, StringComparison.Ordinal);

        string nobody = ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (refused, refusedOutput) = await ServerProcess.RunToExitAsync(["healthcheck", nobody]);
        Assert.True(refused == 1, refusedOutput);
    }

    [Fact]
    public async Task An_http_port_that_is_taken_stops_the_start_with_a_clear_error()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var outcome = await ServerProcess.StartOrExitAsync(new ServerSettings { ExtraArgs = ["--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)] });
        Assert.False(outcome.Started, outcome.Output);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("Cannot listen for HTTP", outcome.Output, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(ServerProcess server)
    {
        using var reply = await Http.GetAsync(new Uri(server.HttpAddress, "/metrics"));
        string text = await reply.Content.ReadAsStringAsync();
        Assert.True(reply.StatusCode == HttpStatusCode.OK, text);
        return text;
    }

    private static async Task<HttpResponseMessage> GetWithBasicAsync(ServerProcess server, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.HttpAddress, "/metrics"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return await Http.SendAsync(request);
    }
}
