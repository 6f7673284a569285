using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>/health while the store opens (SPEC "HTTP": 503 while loading, 200 when serving), on a real server restarted after kill -9.</summary>
public sealed class HealthTests(ITestOutputHelper output) : IntegrationTest(output)
{
    /// <summary>
    /// Events written before the kill. With no index checkpoint since the store was created, the restart replays all of
    /// them and checkpoints the index before serving: the store opens in about 2.2 s on a quiet 2-core machine, while
    /// the HTTP port (started in parallel) answers after 0.2-0.4 s. Under load both slow down alike (at a load average
    /// of 8: HTTP after 2.9 s, the store open after 8.8 s), so the margin holds.
    /// </summary>
    private const int Events = 1_000_000;

    private const int EventsPerAdd = 500;

    private const int Pipeline = 8;

    private const int Connections = 2;

    [Fact]
    public async Task Health_answers_503_loading_while_the_log_replays_after_kill_9_then_200_serving()
    {
        // No index checkpoint while the test writes (the interval is a day): the restart replays the whole log.
        var server = await StartServerAsync(new ServerSettings { Http = true, ExtraArgs = ["--checkpoint-interval", "86400"] });
        var writing = Stopwatch.StartNew();
        await WriteAsync(server);
        TestOutput.WriteLine($"wrote {Events:N0} events in {writing.Elapsed.TotalSeconds:0.00} s");
        await server.KillAsync();

        // RestartOrExitAsync starts the process before its first await and completes once RESP answers PING.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var health = new Uri(server.HttpAddress, "/health");
        var seen = new List<(TimeSpan At, HttpStatusCode Status, string? State)>();
        var restart = Stopwatch.StartNew();
        var restarting = server.RestartOrExitAsync();
        while (!restarting.IsCompleted)
        {
            if (await TryGetAsync(http, health) is { } reply)
            {
                seen.Add((restart.Elapsed, reply.Status, reply.State));
            }

            await Task.Delay(20);
        }

        var respUp = restart.Elapsed;
        Assert.True(await restarting is null, $"the server exited while restarting:\n{server.Output}");
        var serving = await TryGetAsync(http, health);
        string timeline = string.Join(", ", seen.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.At.TotalSeconds:0.00}s {(int)s.Status} {s.State}")));
        TestOutput.WriteLine($"RESP answered after {respUp.TotalSeconds:0.00} s; /health: {timeline}");

        // While the store replays: 503 with status "loading", from the first answer of the HTTP port on.
        Assert.True(seen.Count > 0 && seen[0].Status == HttpStatusCode.ServiceUnavailable, $"/health answered nothing, or 200 first, while the store opened: {timeline}");
        Assert.Contains(seen, s => s is { Status: HttpStatusCode.ServiceUnavailable, State: "loading" });
        Assert.All(seen.Where(s => s.Status == HttpStatusCode.ServiceUnavailable), s => Assert.Equal("loading", s.State));

        // Then 200 "serving" for good: no 503 after the first 200, and 200 once RESP answers.
        int firstOk = seen.FindIndex(s => s.Status == HttpStatusCode.OK);
        Assert.True(firstOk < 0 || seen.Skip(firstOk).All(s => s is { Status: HttpStatusCode.OK, State: "serving" }), timeline);
        Assert.NotNull(serving);
        Assert.Equal(HttpStatusCode.OK, serving.Value.Status);
        Assert.Equal("serving", serving.Value.State);

        // And the replay lost nothing.
        await using var c = await server.OpenRawAsync();
        Assert.Equal(Events, (await c.CommandAsync("EVENTCOUNT")).Int());
    }

    /// <summary>Writes <see cref="Events"/> small events as pipelined ADDs of <see cref="EventsPerAdd"/> over <see cref="Connections"/> connections.</summary>
    private static Task WriteAsync(ServerProcess server) =>
        Task.WhenAll(Enumerable.Range(0, Connections).Select(k => Task.Run(() => WriteAsync(server, k))));

    private static async Task WriteAsync(ServerProcess server, int connection)
    {
        await using var c = await server.OpenRawAsync();
        var args = new List<string> { "ADD", "", "any" };
        for (int i = 0; i < EventsPerAdd; i++)
        {
            args.AddRange(["Loaded", "{}"]);
        }

        int adds = Events / EventsPerAdd / Connections;
        for (int start = 0; start < adds; start += Pipeline)
        {
            int n = Math.Min(Pipeline, adds - start);
            var pipeline = new List<byte>();
            for (int i = start; i < start + n; i++)
            {
                args[1] = string.Create(CultureInfo.InvariantCulture, $"replay-{connection}-{i % 50}");
                pipeline.AddRange(RespConnection.Encode([.. args]));
            }

            await c.SendAsync(pipeline.ToArray());
            foreach (var reply in await c.ReadRepliesAsync(n))
            {
                Assert.False(reply.IsError(), RespText.Describe(reply));
            }
        }
    }

    /// <summary>GET /health: the status code and the body's status, or null while the port does not answer.</summary>
    private static async Task<(HttpStatusCode Status, string? State)?> TryGetAsync(HttpClient http, Uri health)
    {
        try
        {
            using var reply = await http.GetAsync(health);
            string body = await reply.Content.ReadAsStringAsync();
            using var json = JsonDocument.Parse(body);
            string? state = json.RootElement.TryGetProperty("status", out var s) ? s.GetString() : null;
            return (reply.StatusCode, state);
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }
}
