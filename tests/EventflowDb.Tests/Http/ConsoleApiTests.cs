using System.Net;
using System.Text.Json;
using EventflowDb.Tests.Groups;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>
/// The endpoints the web console needs besides SPEC "HTTP"'s: <c>GET /events/{id}</c>, the consumer groups as JSON
/// (<c>GET /groups</c>, <c>GET /groups/{group}</c>, <c>POST /groups/{group}/replay</c>) with the ACL checks of GROUP and
/// GET, and the console's own files at <c>/</c>.
/// </summary>
public sealed class ConsoleApiTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string Password = "console-pw";

    [Fact]
    public async Task The_console_is_served_at_the_root_without_credentials_and_its_files_by_name()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        using var anonymous = new HttpApi(server);
        using var index = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html; charset=utf-8", index.Content.Headers.ContentType?.ToString());
        string html = await index.Content.ReadAsStringAsync();
        Assert.Contains("/console/app.js", html, StringComparison.Ordinal);
        Assert.True(index.Headers.ETag is not null);

        foreach (var (file, type) in new[] { ("app.js", "text/javascript"), ("console.css", "text/css"), ("views.js", "text/javascript"), ("logo.svg", "image/svg+xml") })
        {
            using var response = await anonymous.GetAsync("/console/" + file);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith(type, response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        }

        // Unchanged files are revalidated, not sent again.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/console/app.js");
        using (var first = await anonymous.GetAsync("/console/app.js"))
        {
            request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        }

        using var again = await anonymous.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);

        using var missing = await anonymous.GetAsync("/console/nope.js");
        await HttpApi.AssertErrorAsync(missing, HttpStatusCode.NotFound, "ERR");
    }

    [Fact]
    public async Task The_console_gets_401_without_a_challenge_so_that_the_browser_shows_no_dialog()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        using var api = new HttpApi(server, "default", "wrong");
        using var plain = await api.GetAsync("/stats");
        await HttpApi.AssertErrorAsync(plain, HttpStatusCode.Unauthorized, "WRONGPASS");
        Assert.NotEmpty(plain.Headers.WwwAuthenticate);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/stats");
        request.Headers.Add("X-Requested-With", "EventflowDB-console");
        using var console = await api.Client.SendAsync(request);
        await HttpApi.AssertErrorAsync(console, HttpStatusCode.Unauthorized, "WRONGPASS");
        Assert.Empty(console.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task An_event_is_read_by_its_id_with_the_read_rights_of_its_stream()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        await using var admin = await server.OpenAuthenticatedRawAsync();
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "reader", "on", ">rpw", "%R~mine-*", "+@read")).Str());
        using var root = new HttpApi(server, "default", Password);
        var mine = (await root.AppendAsync("mine-1", """{"a": 1}"""))[0];
        var other = (await root.AppendAsync("other-1", "2"))[0];

        string id = mine.GetProperty("id").GetString()!;
        using (var response = await root.GetAsync($"/events/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(mine.GetRawText(), await response.Content.ReadAsStringAsync());
        }

        // The same bytes as the RESP reply that holds the event.
        var resp = (await admin.CommandAsync("GET", "mine-1")).Arr();
        Assert.Equal(resp[0].Str(), mine.GetRawText());

        using var reader = new HttpApi(server, "reader", "rpw");
        using (var ok = await reader.GetAsync($"/events/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var refused = await reader.GetAsync($"/events/{other.GetProperty("id").GetString()}"))
        {
            await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
        }

        using (var missing = await root.GetAsync("/events/01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        {
            await HttpApi.AssertErrorAsync(missing, HttpStatusCode.NotFound, "ERR");
        }

        foreach (string bad in new[] { "not-an-id", "0" })
        {
            using var invalid = await root.GetAsync($"/events/{bad}");
            await HttpApi.AssertErrorAsync(invalid, HttpStatusCode.BadRequest, "INVALID");
        }

        using var anonymous = new HttpApi(server);
        using var noAuth = await anonymous.GetAsync($"/events/{id}");
        await HttpApi.AssertErrorAsync(noAuth, HttpStatusCode.Unauthorized, "NOAUTH");
    }

    [Fact]
    public async Task Groups_are_listed_with_pending_and_parked_events_and_replay_makes_parked_events_pending()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        await using var c = await server.OpenAuthenticatedRawAsync();
        using var api = new HttpApi(server, "default", Password);
        var placed = await api.AppendAsync("order-1", "1", "2", "3");
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "billing", "category:order", "0", "ACKTIMEOUT", "50", "MAXDELIVERIES", "1")).Str());
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "audit", "$all")).Str());
        Assert.Equal(2, (await c.CommandAsync("GROUP", "READ", "billing", "worker-1", "COUNT", "2")).Arr().Count);
        Assert.Single((await c.CommandAsync("GROUP", "READ", "audit", "auditor", "COUNT", "1")).Arr());

        using (var list = await api.GetAsync("/groups"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            var groups = await HttpApi.ArrayAsync(list);
            Assert.Equal(["audit", "billing"], groups.Select(g => g.GetProperty("name").GetString()));
            Assert.Equal("category:order", groups[1].GetProperty("channel").GetString());
            Assert.Equal(["worker-1"], groups[1].GetProperty("consumers").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(1, groups[1].GetProperty("max_deliveries").GetInt32());
            Assert.Equal(1, groups[0].GetProperty("pending").GetInt32());
        }

        // Past the ack timeout with its one delivery used, each event of billing is parked (as GROUP INFO shows it).
        await Task.Delay(200);
        using (var detail = await api.GetAsync("/groups/billing"))
        {
            Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
            using var document = JsonDocument.Parse(await detail.Content.ReadAsStringAsync());
            var g = document.RootElement;
            Assert.Equal(0, g.GetProperty("pending").GetInt32());
            Assert.Equal(2, g.GetProperty("parked").GetInt32());
            Assert.Equal(
                placed.Take(2).Select(e => e.GetRawText()),
                g.GetProperty("parked_events").EnumerateArray().Select(e => e.GetRawText()));
            Assert.Empty(g.GetProperty("pending_events").EnumerateArray());
        }

        using (var audit = await api.GetAsync("/groups/audit"))
        {
            using var document = JsonDocument.Parse(await audit.Content.ReadAsStringAsync());
            var pending = Assert.Single(document.RootElement.GetProperty("pending_events").EnumerateArray());
            Assert.Equal("auditor", pending.GetProperty("consumer").GetString());
            Assert.Equal(1, pending.GetProperty("deliveries").GetInt32());
            Assert.Equal(placed[0].GetRawText(), pending.GetProperty("event").GetRawText());
        }

        using (var replay = await api.Client.PostAsync(new Uri("/groups/billing/replay", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            using var document = JsonDocument.Parse(await replay.Content.ReadAsStringAsync());
            Assert.Equal(2, document.RootElement.GetProperty("replayed").GetInt32());
        }

        // The same state GROUP sees: nothing parked, both pending and delivered again at once.
        var info = await c.GroupInfoAsync("billing");
        Assert.Equal(0, info["parked"].Int());
        Assert.Equal(2, info["pending"].Int());
        var again = (await c.CommandAsync("GROUP", "READ", "billing", "worker-2", "COUNT", "2")).Arr();
        Assert.Equal(placed.Take(2).Select(e => e.GetRawText()), again.Select(e => e.Str()));

        using (var missing = await api.GetAsync("/groups/nope"))
        {
            string message = await HttpApi.AssertErrorAsync(missing, HttpStatusCode.BadRequest, "ERR");
            Assert.Contains("no such consumer group", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Group_endpoints_apply_the_GROUP_rights_and_the_channel_check()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        await using var admin = await server.OpenAuthenticatedRawAsync();
        Assert.Equal("OK", (await admin.CommandAsync("GROUP", "CREATE", "orders", "category:order")).Str());
        Assert.Equal("OK", (await admin.CommandAsync("GROUP", "CREATE", "everything", "$all")).Str());
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "clerk", "on", ">cpw", "%R~order-*", "+@all")).Str());
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "nogroups", "on", ">npw", "~*", "+@all", "-group")).Str());

        using var clerk = new HttpApi(server, "clerk", "cpw");
        using (var list = await clerk.GetAsync("/groups"))
        {
            Assert.Equal(["orders"], (await HttpApi.ArrayAsync(list)).Select(g => g.GetProperty("name").GetString()));
        }

        using (var ok = await clerk.GetAsync("/groups/orders"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var refused = await clerk.GetAsync("/groups/everything"))
        {
            await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
        }

        using (var refused = await clerk.Client.PostAsync(new Uri("/groups/everything/replay", UriKind.Relative), null))
        {
            await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
        }

        using var nogroups = new HttpApi(server, "nogroups", "npw");
        foreach (string path in new[] { "/groups", "/groups/orders" })
        {
            using var refused = await nogroups.GetAsync(path);
            string message = await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
            Assert.Contains("'group'", message, StringComparison.Ordinal);
        }

        // As over RESP: the refusals are in ACL LOG.
        string log = RespText.Describe(await admin.CommandAsync("ACL", "LOG"));
        Assert.Contains("http=POST /groups/everything/replay", log, StringComparison.Ordinal);
    }
}
