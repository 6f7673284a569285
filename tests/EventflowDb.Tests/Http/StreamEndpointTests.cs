using System.Net;
using System.Text;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>
/// SPEC "HTTP": POST and GET /streams/{stream}, GET /all, GET /streams, GET /stats against a real server, compared with
/// what the RESP commands answer on the same server.
/// </summary>
public sealed class StreamEndpointTests(HttpServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<HttpServerFixture>(fixture, output), IClassFixture<HttpServerFixture>
{
    /// <summary>The ADD limit of the default log page (StoreOptions.MaxAppendBytes).</summary>
    private const int MaxAppendBytes = (1 << 22) - 4096;

    [Fact]
    public async Task Append_answers_201_with_the_events_byte_for_byte_as_RESP_returns_them()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("orders");
        using var response = await api.PostAsync(stream, """{"version": 0, "events": [{"type": "Placed", "data": {"total": 12, "items": [1, 2]}, "metadata": "m"}, {"type": "Paid", "data": "text"}]}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/streams/{stream}?from=0", response.Headers.Location?.ToString());
        byte[] posted = await response.Content.ReadAsByteArrayAsync();

        await using var c = await Server.OpenRawAsync();
        var resp = (await c.CommandAsync("GET", stream)).Arr();
        Assert.Equal(2, resp.Count);
        Assert.Equal(JsonArray(resp), posted);

        using var read = await api.GetAsync($"/streams/{stream}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(JsonArray(resp), await read.Content.ReadAsByteArrayAsync());

        var events = await HttpApi.ArrayAsync(read);
        Assert.Equal("""{"total": 12, "items": [1, 2]}""", events[0].GetProperty("data").GetRawText());
        Assert.Equal("text", events[1].GetProperty("data").GetString());
        Assert.Equal(1, events[1].GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Any_content_type_is_read_as_JSON_and_a_stream_name_may_hold_any_percent_encoded_character()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("a/b ü?#%");
        using var form = new StringContent("""{"events": [{"type": "T", "data": 1}]}""", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await api.Client.PostAsync(new Uri("/streams/" + Uri.EscapeDataString(stream), UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(stream, (await HttpApi.ArrayAsync(response))[0].GetProperty("stream").GetString());
        Assert.Equal("/streams/" + Uri.EscapeDataString(stream) + "?from=0", response.Headers.Location?.OriginalString);

        await using var c = await Server.OpenRawAsync();
        Assert.Single((await c.CommandAsync("GET", stream)).Arr());
        using var read = await api.GetAsync("/streams/" + Uri.EscapeDataString(stream) + "?limit=5");
        Assert.Single(await HttpApi.ArrayAsync(read));
        Assert.Equal("/streams/" + Uri.EscapeDataString(stream) + "?from=1&limit=5", HttpApi.NextLink(read));
    }

    [Fact]
    public async Task A_retry_with_the_same_message_ids_stores_nothing_and_returns_the_first_events()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("idem");
        string body = """{"version": 0, "events": [{"type": "A", "data": 1, "message_id": "m-1"}, {"type": "B", "data": 2, "message_id": "m-2"}]}""";
        using var first = await api.PostAsync(stream, body);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        byte[] stored = await first.Content.ReadAsByteArrayAsync();

        // The retry's version is stale now; the message ids decide.
        using var retry = await api.PostAsync(stream, body);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(stored, await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replay").Single());

        // The same message id over RESP is the same event too.
        await using var c = await Server.OpenRawAsync();
        var viaResp = (await c.CommandAsync("ADD", $$"""{"stream": "{{stream}}", "version": 0, "events": [{"type": "A", "data": 1, "message_id": "m-1"}, {"type": "B", "data": 2, "message_id": "m-2"}]}""")).Arr();
        Assert.Equal(stored, JsonArray(viaResp));

        using var partial = await api.PostAsync(stream, """{"events": [{"type": "A", "data": 1, "message_id": "m-1"}, {"type": "C", "data": 3, "message_id": "m-3"}]}""");
        await HttpApi.AssertErrorAsync(partial, HttpStatusCode.Conflict, "WRONGVERSION");
        Assert.Equal(2, (await HttpApi.ArrayAsync(await api.GetAsync($"/streams/{stream}"))).Count);
    }

    [Fact]
    public async Task Expected_version_from_body_or_header_and_409_on_conflict_or_gap()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("versions");
        const string Event = """[{"type": "T", "data": {}}]""";
        using (var created = await api.PostAsync(stream, $$"""{"version": "no_stream", "events": {{Event}}}"""))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var again = await api.PostAsync(stream, $$"""{"version": "no_stream", "events": {{Event}}}"""))
        {
            await HttpApi.AssertErrorAsync(again, HttpStatusCode.Conflict, "WRONGVERSION");
        }

        using (var stale = await api.PostAsync(stream, $$"""{"version": 0, "events": {{Event}}}"""))
        {
            string message = await HttpApi.AssertErrorAsync(stale, HttpStatusCode.Conflict, "WRONGVERSION");
            Assert.Equal("concurrent stream modification (expected 0, stream is at 1)", message);
        }

        using (var gap = await api.PostAsync(stream, $$"""{"events": {{Event}}}""", expectedVersion: "5"))
        {
            string message = await HttpApi.AssertErrorAsync(gap, HttpStatusCode.Conflict, "WRONGVERSION");
            Assert.Equal("given version leaves gap in stream (expected 5, stream is at 1)", message);
        }

        using (var byHeader = await api.PostAsync(stream, $$"""{"events": {{Event}}}""", expectedVersion: "1"))
        {
            Assert.Equal(HttpStatusCode.Created, byHeader.StatusCode);
            Assert.Equal(1, (await HttpApi.ArrayAsync(byHeader))[0].GetProperty("version").GetInt64());
        }

        using (var disagree = await api.PostAsync(stream, $$"""{"version": 2, "events": {{Event}}}""", expectedVersion: "3"))
        {
            await HttpApi.AssertErrorAsync(disagree, HttpStatusCode.BadRequest, "INVALID");
        }

        using (var badHeader = await api.PostAsync(stream, $$"""{"events": {{Event}}}""", expectedVersion: "soon"))
        {
            await HttpApi.AssertErrorAsync(badHeader, HttpStatusCode.BadRequest, "INVALID");
        }

        Assert.Equal(2, (await HttpApi.ArrayAsync(await api.GetAsync($"/streams/{stream}"))).Count);
    }

    [Fact]
    public async Task Bad_bodies_get_400_and_change_nothing()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("bad");
        (string Body, string Code)[] cases =
        [
            ("", "ERR"),
            ("not json", "ERR"),
            ("""{"events": [{"type": "T", "data": 1}""", "ERR"),
            ("[1, 2]", "ERR"),
            ("""{"events": []}""", "INVALID"),
            ("""{"events": [{"data": 1}]}""", "INVALID"),
            ("""{"events": [{"type": "T"}]}""", "INVALID"),
            ("""{"events": [{"type": "", "data": 1}]}""", "INVALID"),
            ("""{"events": [{"type": "T", "data": 1, "extra": 2}]}""", "ERR"),
            ("""{"stream": "other", "events": [{"type": "T", "data": 1}]}""", "ERR"),
            ("""{"version": -1, "events": [{"type": "T", "data": 1}]}""", "INVALID"),
            ("""{"events": [{"type": "T", "data": 1, "causation_id": "nope"}]}""", "INVALID"),
            ($$"""{"events": [{"type": "T", "data": 1, "message_id": "{{new string('m', 129)}}"}]}""", "INVALID"),
            ("""{"events": [{"type": "T", "data": 1, "message_id": "a"}, {"type": "T", "data": 2, "message_id": "a"}]}""", "INVALID"),
        ];
        foreach (var (body, code) in cases)
        {
            using var response = await api.PostAsync(stream, body);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.BadRequest, code);
        }

        // Invalid UTF-8 inside a string of the data.
        byte[] invalid = [.. """{"events": [{"type": "T", "data": {"s": ""}}]}"""u8];
        int quote = Array.LastIndexOf(invalid, (byte)'"', invalid.Length - 5);
        byte[] withBadByte = [.. invalid[..quote], 0xC3, 0x28, .. invalid[quote..]];
        using (var response = await api.PostAsync(stream, withBadByte))
        {
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.BadRequest, "INVALID");
        }

        // Bad streams in the path: all zeroes, a control character, not UTF-8, too long.
        foreach (string path in new[] { "00000000-0000-0000-0000-000000000000", "a%01b", "a%C3%28b", new string('s', 257) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/streams/" + path) { Content = new StringContent("""{"events": [{"type": "T", "data": 1}]}""") };
            using var response = await api.Client.SendAsync(request);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.BadRequest, "INVALID");
        }

        using var read = await api.GetAsync($"/streams/{stream}");
        Assert.Empty(await HttpApi.ArrayAsync(read));
    }

    [Fact]
    public async Task Too_large_requests_get_413_with_content_length_chunked_or_once_stored()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("large");
        string big = $$"""{"events": [{"type": "T", "data": "{{new string('x', MaxAppendBytes)}}"}]}""";
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/streams/" + stream) { Content = new StringContent(big) })
        {
            // Answered from the Content-Length, before the body: with Expect: 100-continue it is never sent.
            request.Headers.ExpectContinue = true;
            using var response = await api.Client.SendAsync(request);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "TOOLARGE");
        }

        // Chunked (no Content-Length): cut off once past the limit.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/streams/" + stream) { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) })
        {
            request.Headers.TransferEncodingChunked = true;
            using var response = await api.Client.SendAsync(request);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "TOOLARGE");
        }

        // A small body of many events whose stored form passes the limit.
        string many = "{\"events\": [" + string.Join(",", Enumerable.Repeat("""{"type":"T","data":0}""", 20_000)) + "]}";
        Assert.True(many.Length < MaxAppendBytes);
        using (var response = await api.PostAsync(stream, many))
        {
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "TOOLARGE");
        }

        Assert.Empty(await HttpApi.ArrayAsync(await api.GetAsync($"/streams/{stream}")));
    }

    [Fact]
    public async Task Stream_reads_page_with_the_Link_header_until_the_end()
    {
        using var api = new HttpApi(Server);
        string stream = Unique("paged");
        await api.AppendAsync(stream, Enumerable.Range(0, 25).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());

        var versions = new List<long>();
        string? next = $"/streams/{stream}?limit=10";
        int pages = 0;
        while (next is not null)
        {
            using var page = await api.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var events = await HttpApi.ArrayAsync(page);
            versions.AddRange(events.Select(e => e.GetProperty("version").GetInt64()));
            next = HttpApi.NextLink(page);
            Assert.Equal(events.Count > 0, next is not null);
            pages++;
        }

        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), versions);
        Assert.Equal(4, pages); // 10, 10, 5, then the empty page without a link

        using var from = await api.GetAsync($"/streams/{stream}?from=20&limit=2");
        Assert.Equal([20L, 21L], (await HttpApi.ArrayAsync(from)).Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal($"/streams/{stream}?from=22&limit=2", HttpApi.NextLink(from));

        using var none = await api.GetAsync($"/streams/{Unique("missing")}");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        Assert.Empty(await HttpApi.ArrayAsync(none));

        foreach (var (query, code) in new[] { ("from=abc", "ERR"), ("limit=-1", "INVALID"), ("from=1&from=2", "ERR") })
        {
            using var bad = await api.GetAsync($"/streams/{stream}?{query}");
            await HttpApi.AssertErrorAsync(bad, HttpStatusCode.BadRequest, code);
        }
    }

    [Fact]
    public async Task All_reads_the_log_after_an_id_by_channel_with_paging_as_GETALL()
    {
        using var api = new HttpApi(Server);
        string category = "cat" + Guid.NewGuid().ToString("N")[..8];
        var stored = new List<JsonElement>();
        for (int i = 0; i < 3; i++)
        {
            stored.AddRange(await api.AppendAsync($"{category}-{i}", "1", "2"));
            await api.AppendAsync(Unique("noise"), "0");
        }

        // The category in pages of 4: 4, 2, then nothing after the last.
        var seen = new List<string>();
        string? next = $"/all?channel=category:{category}&limit=4&after={stored[0].GetProperty("id").GetString()}";
        seen.Add(stored[0].GetProperty("id").GetString()!);
        while (next is not null)
        {
            using var page = await api.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            seen.AddRange((await HttpApi.ArrayAsync(page)).Select(e => e.GetProperty("id").GetString()!));
            next = HttpApi.NextLink(page);
        }

        Assert.Equal(stored.Select(e => e.GetProperty("id").GetString()), seen);

        // Byte for byte as GETALL answers, from the same offset.
        await using var c = await Server.OpenRawAsync();
        string after = stored[1].GetProperty("id").GetString()!;
        var resp = (await c.CommandAsync("GETALL", after, "5")).Arr();
        using var all = await api.GetAsync($"/all?after={after}&limit=5");
        Assert.Equal(JsonArray(resp), await all.Content.ReadAsByteArrayAsync());
        Assert.Equal($"/all?after={resp[^1].Text![7..33]}&limit=5", HttpApi.NextLink(all));

        foreach (var (query, code) in new[] { ("channel=nope", "INVALID"), ("channel=stream:", "INVALID"), ("after=xyz", "INVALID"), ("limit=x", "ERR") })
        {
            using var bad = await api.GetAsync($"/all?{query}");
            await HttpApi.AssertErrorAsync(bad, HttpStatusCode.BadRequest, code);
        }
    }

    [Fact]
    public async Task Streams_lists_as_LISTSTREAMS_with_skip_and_limit_paging()
    {
        using var api = new HttpApi(Server);
        for (int i = 0; i < 5; i++)
        {
            await api.AppendAsync(Unique("listed"), "1");
        }

        await using var c = await Server.OpenRawAsync();
        long count = (await c.CommandAsync("STREAMCOUNT")).Integer;
        var resp = (await c.CommandAsync("LISTSTREAMS", "1", "3")).Arr();
        using var page = await api.GetAsync("/streams?skip=1&limit=3");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(JsonArray(resp), await page.Content.ReadAsByteArrayAsync());
        Assert.Equal("/streams?skip=4&limit=3", HttpApi.NextLink(page));

        var names = new List<string>();
        string? next = "/streams?limit=2";
        while (next is not null)
        {
            using var listed = await api.GetAsync(next);
            names.AddRange((await HttpApi.ArrayAsync(listed)).Select(s => s.GetProperty("stream").GetString()!));
            next = HttpApi.NextLink(listed);
        }

        Assert.Equal(count, names.Count);
        Assert.Equal(names.Count, names.Distinct().Count());

        using var bad = await api.GetAsync("/streams?skip=-3");
        await HttpApi.AssertErrorAsync(bad, HttpStatusCode.BadRequest, "INVALID");
    }

    [Fact]
    public async Task Stats_are_the_counters_checksum_size_uptime_and_version()
    {
        using var api = new HttpApi(Server);
        await api.AppendAsync(Unique("stats"), "1", "2");
        await using var c = await Server.OpenRawAsync();
        using var response = await api.GetAsync("/stats");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var stats = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = stats.RootElement;

        Assert.Equal((await c.CommandAsync("EVENTCOUNT")).Integer, root.GetProperty("event_count").GetInt64());
        Assert.Equal((await c.CommandAsync("STREAMCOUNT")).Integer, root.GetProperty("stream_count").GetInt64());
        Assert.True(root.GetProperty("event_count_estimate").GetInt64() >= 0);
        Assert.True(root.GetProperty("stream_count_estimate").GetInt64() >= 0);
        var checksum = (await c.CommandAsync("CHECKSUM")).Arr();
        Assert.Equal(checksum[0].Text, root.GetProperty("last_id").GetString());
        Assert.Equal(checksum[1].Text, root.GetProperty("checksum").GetString());
        Assert.True(root.GetProperty("size_bytes").GetInt64() > 0);
        Assert.EndsWith("B", root.GetProperty("size").GetString(), StringComparison.Ordinal);
        Assert.True(root.GetProperty("uptime_ms").GetInt64() > 0);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("uptime").GetString()));
        Assert.Equal((await c.CommandAsync("VERSION")).Text, root.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Unknown_paths_and_methods_get_the_error_body_too()
    {
        using var api = new HttpApi(Server);
        using var missing = await api.GetAsync("/nothing-here");
        await HttpApi.AssertErrorAsync(missing, HttpStatusCode.NotFound, "ERR");
        using var put = await api.Client.PutAsync(new Uri("/streams/x", UriKind.Relative), new StringContent("{}"));
        await HttpApi.AssertErrorAsync(put, HttpStatusCode.MethodNotAllowed, "ERR");
    }

    /// <summary>The RESP reply's bulk strings as one JSON array, the bytes the HTTP reply must have.</summary>
    private static byte[] JsonArray(IReadOnlyList<RespValue> bulks)
    {
        var bytes = new List<byte> { (byte)'[' };
        for (int i = 0; i < bulks.Count; i++)
        {
            if (i > 0)
            {
                bytes.Add((byte)',');
            }

            bytes.AddRange(bulks[i].Bytes!);
        }

        bytes.Add((byte)']');
        return [.. bytes];
    }
}
