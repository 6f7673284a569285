using System.Net;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>SPEC "HTTP": <c>GET /openapi/v1.json</c> documents every endpoint of the API; <c>/scalar</c> renders it.</summary>
public sealed class OpenApiTests(HttpServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<HttpServerFixture>(fixture, output), IClassFixture<HttpServerFixture>
{
    [Fact]
    public async Task The_document_is_OpenAPI_3_and_lists_every_endpoint()
    {
        using var api = new HttpApi(Server);
        using var response = await api.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);

        var paths = root.GetProperty("paths");
        (string Path, string Method)[] endpoints =
        [
            ("/streams/{stream}", "post"), ("/streams/{stream}", "get"), ("/all", "get"), ("/streams", "get"), ("/stats", "get"), ("/subscribe", "get"),
            ("/events/{id}", "get"), ("/groups", "get"), ("/groups/{group}", "get"), ("/groups/{group}/replay", "post"),
            ("/streams/{stream}", "delete"), ("/streams/{stream}/truncate", "post"), ("/streams/{stream}/metadata", "get"), ("/streams/{stream}/metadata", "put"),
            ("/streams/{stream}/snapshot", "get"), ("/streams/{stream}/snapshot", "put"), ("/streams/{stream}/forget", "post"),
        ];
        foreach (var (path, method) in endpoints)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} is missing");
            Assert.True(operation.GetProperty("responses").EnumerateObject().Any());
        }

        Assert.Equal(14, paths.EnumerateObject().Count());
        Assert.True(paths.GetProperty("/events/{id}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
        var append = paths.GetProperty("/streams/{stream}").GetProperty("post");
        Assert.True(append.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        foreach (string status in new[] { "201", "400", "401", "403", "409", "413" })
        {
            Assert.True(append.GetProperty("responses").TryGetProperty(status, out _), $"POST has no {status}");
        }

        var parameters = paths.GetProperty("/all").GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["after", "limit", "channel"], parameters);
        var read = paths.GetProperty("/streams/{stream}").GetProperty("get").GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal("integer", read["from"].GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal("integer", read["limit"].GetProperty("schema").GetProperty("type").GetString());
        var follow = paths.GetProperty("/subscribe").GetProperty("get").GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal("string", follow["from"].GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal("header", follow["Last-Event-ID"].GetProperty("in").GetString());
    }

    [Fact]
    public async Task Scalar_serves_the_interactive_reference()
    {
        using var api = new HttpApi(Server);
        using var response = await api.GetAsync("/scalar/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        string html = await response.Content.ReadAsStringAsync();
        Assert.Contains("EventflowDB HTTP API", html, StringComparison.Ordinal);
    }
}
