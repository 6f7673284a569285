using System.Net;
using System.Text;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>SPEC "HTTP": <c>GET /subscribe</c> streams Server-Sent Events with catch-up as FOLLOW, resumable by Last-Event-ID.</summary>
public sealed class SubscribeEndpointTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Catch_up_then_live_events_carry_their_id_and_the_JSON_RESP_returns()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        string stream = Unique("sse");
        await api.AppendAsync(stream, "1", "\"two\"", "{\n  \"pretty\": [1,\n 2]\n}");
        await api.AppendAsync(Unique("elsewhere"), "0");

        using var timeout = new CancellationTokenSource(Patience);
        using var response = await OpenAsync(api, $"/subscribe?channel=stream:{stream}&from=0", null, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var received = new List<SseEvent>();
        for (int i = 0; i < 3; i++)
        {
            received.Add((await sse.NextAsync(timeout.Token))!);
        }

        // Live, after the catch-up.
        await api.AppendAsync(stream, "4", "5");
        for (int i = 0; i < 2; i++)
        {
            received.Add((await sse.NextAsync(timeout.Token))!);
        }

        await using var c = await server.OpenRawAsync();
        var stored = (await c.CommandAsync("GET", stream)).Arr().Select(e => e.Text!).ToList();
        Assert.Equal(5, stored.Count);
        Assert.Equal(stored, received.Select(e => e.Data));
        Assert.Equal(stored.Select(e => e[7..33]), received.Select(e => e.Id));
        Assert.Contains("\n  \"pretty\"", received[2].Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Last_Event_ID_resumes_without_gap_or_duplicate_while_writers_append()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        string category = "live" + Guid.NewGuid().ToString("N")[..8];
        const int Writers = 3;
        const int PerWriter = 60;

        using var timeout = new CancellationTokenSource(Patience);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            await using var c = await server.OpenRawAsync();
            for (int i = 0; i < PerWriter; i++)
            {
                // Writers alternate between RESP and HTTP.
                if (i % 2 == 0)
                {
                    await c.EventsAsync("ADD", $"{category}-{w}", "any", "T", $"{{\"n\":{i}}}");
                }
                else
                {
                    await api.AppendAsync($"{category}-{w}", $"{{\"n\":{i}}}");
                }
            }
        })).ToList();

        var ids = new List<string>();
        string? lastId = null;
        int connections = 0;
        while (ids.Count < Writers * PerWriter)
        {
            // Each connection takes at most 40 events, then leaves; the next one resumes with Last-Event-ID.
            connections++;
            using var response = await OpenAsync(api, $"/subscribe?channel=category:{category}&from=0", lastId, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var sse = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            for (int taken = 0; taken < 40 && ids.Count < Writers * PerWriter; taken++)
            {
                var e = (await sse.NextAsync(timeout.Token))!;
                Assert.NotNull(e.Id);
                ids.Add(e.Id);
                lastId = e.Id;
                Assert.Contains($"\"stream\":\"{category}-", e.Data, StringComparison.Ordinal);
            }
        }

        await Task.WhenAll(writers);
        Assert.True(connections >= 5);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);

        // Exactly the category's events in log order, as GET /all pages them.
        var expected = new List<string>();
        string? next = $"/all?channel=category:{category}&limit=50";
        while (next is not null)
        {
            using var page = await api.GetAsync(next);
            expected.AddRange((await HttpApi.ArrayAsync(page)).Select(e => e.GetProperty("id").GetString()!));
            next = HttpApi.NextLink(page);
        }

        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task An_idle_subscription_gets_heartbeat_comments()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        using var timeout = new CancellationTokenSource(Patience);
        using var response = await OpenAsync(api, $"/subscribe?channel=stream:{Unique("quiet")}&heartbeat=1", null, timeout.Token);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        Assert.True(await sse.WaitForCommentAsync(": subscribed", timeout.Token));
        Assert.True(await sse.WaitForCommentAsync(": heartbeat", timeout.Token));
        Assert.True(await sse.WaitForCommentAsync(": heartbeat", timeout.Token));
    }

    [Fact]
    public async Task The_stream_ends_cleanly_when_the_server_stops()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        using var timeout = new CancellationTokenSource(Patience);
        using var response = await OpenAsync(api, "/subscribe", null, timeout.Token);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        Assert.True(await sse.WaitForCommentAsync(": subscribed", timeout.Token));

        var stopping = server.StopAsync();
        Assert.True(await sse.EndsAsync(timeout.Token)); // a complete response: no "ended prematurely"
        Assert.Equal(0, await stopping);
    }

    [Fact]
    public async Task Deleting_the_user_ends_its_subscriptions()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = "root-pw" });
        await using var admin = await server.OpenAuthenticatedRawAsync();
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "follower", "on", ">fpw", "~*", "+@all")).Str());
        using var api = new HttpApi(server, "follower", "fpw");
        using var timeout = new CancellationTokenSource(Patience);
        using var response = await OpenAsync(api, "/subscribe?heartbeat=1", null, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        Assert.True(await sse.WaitForCommentAsync(": subscribed", timeout.Token));

        Assert.Equal(1, (await admin.CommandAsync("ACL", "DELUSER", "follower")).Integer);
        Assert.True(await sse.EndsAsync(timeout.Token));
        using var after = await api.GetAsync("/subscribe");
        await HttpApi.AssertErrorAsync(after, HttpStatusCode.Unauthorized, "WRONGPASS");
    }

    [Fact]
    public async Task Bad_channels_and_ids_get_400()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        foreach (var (query, code) in new[] { ("channel=nope", "INVALID"), ("channel=type:", "INVALID"), ("from=not-an-id", "INVALID"), ("heartbeat=x", "ERR"), ("heartbeat=99999", "INVALID") })
        {
            using var response = await api.GetAsync($"/subscribe?{query}");
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.BadRequest, code);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/subscribe");
        request.Headers.Add("Last-Event-ID", "garbage");
        using var badResume = await api.Client.SendAsync(request);
        await HttpApi.AssertErrorAsync(badResume, HttpStatusCode.BadRequest, "INVALID");
    }

    private static Task<HttpResponseMessage> OpenAsync(HttpApi api, string path, string? lastEventId, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
