using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Lifecycle;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>The stream lifecycle endpoints against a real server, each compared with what RESP then reads.</summary>
public sealed class LifecycleEndpointTests(HttpServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<HttpServerFixture>(fixture, output), IClassFixture<HttpServerFixture>
{
    private static async Task<HttpResponseMessage> SendAsync(HttpApi api, HttpMethod method, string path, string? json = null, string? expectedVersion = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (expectedVersion is not null)
        {
            request.Headers.Add("Expected-Version", expectedVersion);
        }

        return await api.Client.SendAsync(request);
    }

    private static string PathOf(string stream, string suffix = "") => "/streams/" + Uri.EscapeDataString(stream) + suffix;

    [Fact]
    public async Task Delete_answers_204_409_and_400_like_the_DELETE_command()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("http-del");
        await api.AppendAsync(stream, "1", "2");

        using (var conflict = await SendAsync(api, HttpMethod.Delete, PathOf(stream), expectedVersion: "1"))
        {
            Assert.Equal("concurrent stream modification (expected 1, stream is at 2)", await HttpApi.AssertErrorAsync(conflict, HttpStatusCode.Conflict, "WRONGVERSION"));
        }

        using (var bad = await SendAsync(api, HttpMethod.Delete, PathOf(stream), expectedVersion: "x"))
        {
            await HttpApi.AssertErrorAsync(bad, HttpStatusCode.BadRequest, "ERR");
        }

        using (var missing = await SendAsync(api, HttpMethod.Delete, PathOf(Unique("none"))))
        {
            await HttpApi.AssertErrorAsync(missing, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var deleted = await SendAsync(api, HttpMethod.Delete, PathOf(stream), expectedVersion: "2"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var read = await api.GetAsync(PathOf(stream));
        Assert.Empty(await HttpApi.ArrayAsync(read));
        await using var c = await Server.OpenRawAsync();
        Assert.True((await c.MetaAsync(stream)).GetProperty("deleted").GetBoolean());
    }

    [Fact]
    public async Task Truncate_takes_a_version_in_its_body()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("http-trunc");
        await api.AppendAsync(stream, "1", "2", "3");
        using (var beyond = await SendAsync(api, HttpMethod.Post, PathOf(stream, "/truncate"), """{"version":4}"""))
        {
            await HttpApi.AssertErrorAsync(beyond, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var unknown = await SendAsync(api, HttpMethod.Post, PathOf(stream, "/truncate"), """{"to":1}"""))
        {
            await HttpApi.AssertErrorAsync(unknown, HttpStatusCode.BadRequest, "ERR");
        }

        using (var done = await SendAsync(api, HttpMethod.Post, PathOf(stream, "/truncate"), """{"version":2}"""))
        {
            Assert.Equal(HttpStatusCode.NoContent, done.StatusCode);
        }

        using var read = await api.GetAsync(PathOf(stream));
        Assert.Equal([2L], (await HttpApi.ArrayAsync(read)).Select(e => e.GetProperty("version").GetInt64()));
    }

    [Fact]
    public async Task Metadata_is_read_and_set_as_STREAMMETA_does()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("http-meta");
        using (var none = await api.GetAsync(PathOf(stream, "/metadata")))
        {
            await HttpApi.AssertErrorAsync(none, HttpStatusCode.NotFound, "ERR");
        }

        await api.AppendAsync(stream, "1", "2", "3");
        using (var set = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/metadata"), """{"maxCount":2}"""))
        {
            Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        }

        using (var unknown = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/metadata"), """{"maxSize":2}"""))
        {
            await HttpApi.AssertErrorAsync(unknown, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var negative = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/metadata"), """{"maxAge":-1}"""))
        {
            await HttpApi.AssertErrorAsync(negative, HttpStatusCode.BadRequest, "INVALID");
        }

        using var got = await api.GetAsync(PathOf(stream, "/metadata"));
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        string body = await got.Content.ReadAsStringAsync();
        await using var c = await Server.OpenRawAsync();
        Assert.Equal((await c.CommandAsync("STREAMMETA", stream)).Str(), body);
        Assert.Equal(2, JsonDocument.Parse(body).RootElement.GetProperty("maxCount").GetInt64());
        Assert.Equal([1L, 2L], await c.VersionsAsync(stream));
    }

    [Fact]
    public async Task Snapshots_are_saved_and_read_with_their_data_as_given()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("http-snap");
        await api.AppendAsync(stream, "1", "2");
        using (var none = await api.GetAsync(PathOf(stream, "/snapshot")))
        {
            await HttpApi.AssertErrorAsync(none, HttpStatusCode.NotFound, "ERR");
        }

        using (var beyond = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/snapshot"), """{"version":2,"data":{}}"""))
        {
            await HttpApi.AssertErrorAsync(beyond, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var noData = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/snapshot"), """{"version":1}"""))
        {
            await HttpApi.AssertErrorAsync(noData, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var saved = await SendAsync(api, HttpMethod.Put, PathOf(stream, "/snapshot"), """{"version":1,"data":{"sum": 3, "seen": [1, 2]}}"""))
        {
            Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        }

        using var got = await api.GetAsync(PathOf(stream, "/snapshot"));
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        string body = await got.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("""{"sum": 3, "seen": [1, 2]}""", root.GetProperty("data").GetRawText());
        Assert.Equal(1, root.GetProperty("version").GetInt64());
        await using var c = await Server.OpenRawAsync();
        Assert.Equal((await c.CommandAsync("SNAPSHOT", "GET", stream)).Str(), body);
    }

    [Fact]
    public async Task Forget_makes_every_reader_see_null_data()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("http-forget");
        await api.AppendAsync(stream, """{"secret":"s3"}""");
        await using var c = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(c);
        using (var missing = await SendAsync(api, HttpMethod.Post, PathOf(Unique("none"), "/forget")))
        {
            await HttpApi.AssertErrorAsync(missing, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var forgotten = await SendAsync(api, HttpMethod.Post, PathOf(stream, "/forget")))
        {
            Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
        }

        using var read = await api.GetAsync(PathOf(stream));
        var e = Assert.Single(await HttpApi.ArrayAsync(read));
        Assert.Equal(JsonValueKind.Null, e.GetProperty("data").ValueKind);
        Assert.True(e.GetProperty("forgotten").GetBoolean());
        using var all = await api.GetAsync($"/all?channel=stream:{Uri.EscapeDataString(stream)}");
        Assert.Equal(e.GetRawText(), Assert.Single(await HttpApi.ArrayAsync(all)).GetRawText());
        Assert.Equal(before, await StoreState.ReadAsync(c));

        // Server-Sent Events catch up with the same rendering.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/subscribe?channel=stream:{Uri.EscapeDataString(stream)}&from=0");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var subscription = await api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var sse = new SseReader(await subscription.Content.ReadAsStreamAsync(timeout.Token));
        var pushed = await sse.NextAsync(timeout.Token);
        Assert.Equal(e.GetRawText(), pushed!.Data);
    }

    [Fact]
    public async Task POST_compact_runs_a_compaction_and_answers_the_bytes_before_and_after()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("httpcompact");
        await api.AppendAsync(stream, """{"secret":"s1"}""");
        using (var forgotten = await SendAsync(api, HttpMethod.Post, PathOf(stream, "/forget")))
        {
            Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
        }

        using var compacted = await SendAsync(api, HttpMethod.Post, "/compact");
        Assert.Equal(HttpStatusCode.OK, compacted.StatusCode);
        using var reply = JsonDocument.Parse(await compacted.Content.ReadAsStringAsync());
        Assert.True(reply.RootElement.GetProperty("bytes_before").GetInt64() > 0);
        Assert.True(reply.RootElement.GetProperty("bytes_after").GetInt64() > 0);
        using var read = await api.GetAsync(PathOf(stream));
        Assert.True(Assert.Single(await HttpApi.ArrayAsync(read)).GetProperty("forgotten").GetBoolean());
    }
}
