using System.Net;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>SPEC "HTTP" and "TLS and users": HTTP Basic with the server's users, and the same ACL rules as RESP.</summary>
public sealed class HttpAuthTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string Password = "s3cret-http";

    [Fact]
    public async Task With_a_password_requests_need_HTTP_Basic_of_default_or_get_401()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        string stream = Unique("auth");
        const string Body = """{"events": [{"type": "T", "data": 1}]}""";

        using (var anonymous = new HttpApi(server))
        {
            foreach (var response in new[] { await anonymous.PostAsync(stream, Body), await anonymous.GetAsync($"/streams/{stream}"), await anonymous.GetAsync("/all"), await anonymous.GetAsync("/streams"), await anonymous.GetAsync("/stats"), await anonymous.GetAsync("/subscribe") })
            {
                using (response)
                {
                    await HttpApi.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "NOAUTH");
                    Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
                }
            }

            // The documents stay open: they tell nothing about the data.
            using var health = await anonymous.GetAsync("/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using var openApi = await anonymous.GetAsync("/openapi/v1.json");
            Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        }

        foreach (var (user, password) in new[] { ("default", "wrong"), ("nobody", Password) })
        {
            using var wrong = new HttpApi(server, user, password);
            using var response = await wrong.PostAsync(stream, Body);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "WRONGPASS");
        }

        using (var garbled = new HttpRequestMessage(HttpMethod.Get, "/stats"))
        {
            garbled.Headers.TryAddWithoutValidation("Authorization", "Basic !!!not-base64");
            using var client = new HttpApi(server);
            using var response = await client.Client.SendAsync(garbled);
            await HttpApi.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "WRONGPASS");
        }

        using var api = new HttpApi(server, "default", Password);
        using (var created = await api.PostAsync(stream, Body))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Single(await HttpApi.ArrayAsync(await api.GetAsync($"/streams/{stream}")));

        // Failed attempts are in ACL LOG, under the name tried, as failed AUTHs are.
        await using var admin = await server.OpenAuthenticatedRawAsync();
        string log = RespText.Describe(await admin.CommandAsync("ACL", "LOG"));
        Assert.Contains("nobody", log, StringComparison.Ordinal);
        Assert.Contains("http=POST", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_get_403_for_commands_and_streams_outside_their_rights()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true, Password = Password });
        await using var admin = await server.OpenAuthenticatedRawAsync();
        string category = "acct" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "reader", "on", ">rpw", $"%R~{category}-*", "+@read", "+@pubsub")).Str());
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "writer", "on", ">wpw", $"~{category}-*", "+@all")).Str());

        using var root = new HttpApi(server, "default", Password);
        await root.AppendAsync($"{category}-1", "1");
        await root.AppendAsync("other-1", "2");

        using var reader = new HttpApi(server, "reader", "rpw");
        using (var ok = await reader.GetAsync($"/streams/{category}-1"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Single(await HttpApi.ArrayAsync(ok));
        }

        using (var ok = await reader.GetAsync($"/all?channel=category:{category}"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Single(await HttpApi.ArrayAsync(ok));
        }

        using (var ok = await reader.Client.GetAsync(new Uri($"/subscribe?channel=stream:{category}-1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // A stream outside the patterns, and reads that could carry other streams' events.
        foreach (string path in new[] { "/streams/other-1", "/all", "/all?channel=type:T", "/streams", "/subscribe?channel=$all", "/subscribe?channel=stream:other-1" })
        {
            using var refused = await reader.GetAsync(path);
            string message = await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
            Assert.Equal("No permissions to access a stream", message);
        }

        // No @write: the command is refused, as ADD over RESP.
        using (var refused = await reader.PostAsync($"{category}-1", """{"events": [{"type": "T", "data": 1}]}"""))
        {
            string message = await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
            Assert.Equal("User reader has no permissions to run the 'add' command", message);
        }

        using var writer = new HttpApi(server, "writer", "wpw");
        using (var ok = await writer.PostAsync($"{category}-2", """{"events": [{"type": "T", "data": 1}]}"""))
        {
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        }

        using (var refused = await writer.PostAsync("other-1", """{"events": [{"type": "T", "data": 1}]}"""))
        {
            await HttpApi.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "NOPERM");
        }

        Assert.Single(await HttpApi.ArrayAsync(await root.GetAsync("/streams/other-1")));
        string log = RespText.Describe(await admin.CommandAsync("ACL", "LOG"));
        Assert.Contains("reader", log, StringComparison.Ordinal);
        Assert.Contains("other-1", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_password_requests_run_as_default_with_or_without_its_credentials()
    {
        var server = await StartServerAsync(new ServerSettings { Http = true });
        using var api = new HttpApi(server);
        await api.AppendAsync(Unique("open"), "1");
        using var withCredentials = new HttpApi(server, "default", "anything");
        using var response = await withCredentials.GetAsync("/stats");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
