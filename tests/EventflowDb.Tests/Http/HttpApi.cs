using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Http;

/// <summary>A plain HttpClient against a real server's HTTP port, with the API's error body and Link header read out.</summary>
public sealed class HttpApi : IDisposable
{
    private readonly HttpClient _client;

    public HttpApi(ServerProcess server, string? user = null, string? password = null, X509Certificate2? clientCertificate = null)
    {
        _client = new HttpClient(Handler(server, clientCertificate)) { BaseAddress = server.HttpAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (password is not null)
        {
            _client.DefaultRequestHeaders.Authorization = Basic(user ?? "default", password);
        }
    }

    public HttpClient Client => _client;

    /// <summary>The certificate the server presented on the last HTTPS handshake.</summary>
    public X509Certificate2? ServedCertificate { get; private set; }

    /// <summary>Over HTTPS (a server with a TLS port) the test CA is trusted, and nothing else.</summary>
    private SocketsHttpHandler Handler(ServerProcess server, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        if (server.TlsPort != 0)
        {
            var ca = server.Certificates.Ca;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }

                ServedCertificate = new X509Certificate2(certificate);
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(ServedCertificate);
            };
            if (clientCertificate is not null)
            {
                handler.SslOptions.ClientCertificates = [clientCertificate];
            }
        }

        return handler;
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public Task<HttpResponseMessage> PostAsync(string stream, string json, string? expectedVersion = null) =>
        PostAsync(stream, Encoding.UTF8.GetBytes(json), expectedVersion);

    public Task<HttpResponseMessage> PostAsync(string stream, byte[] body, string? expectedVersion = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/streams/" + Uri.EscapeDataString(stream)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (expectedVersion is not null)
        {
            request.Headers.Add("Expected-Version", expectedVersion);
        }

        return _client.SendAsync(request);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => _client.GetAsync(new Uri(path, UriKind.Relative));

    /// <summary>Appends one event per data value (any version) and returns the stored events' JSON.</summary>
    public async Task<List<JsonElement>> AppendAsync(string stream, params string[] dataJson)
    {
        string events = string.Join(",", dataJson.Select(d => $"{{\"type\":\"T\",\"data\":{d}}}"));
        using var response = await PostAsync(stream, $"{{\"events\":[{events}]}}");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ArrayAsync(response);
    }

    public static async Task<List<JsonElement>> ArrayAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>Asserts an error reply: status, <c>{"error": code, "message": ...}</c>; returns the message.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(body);
        Assert.Equal(code, document.RootElement.GetProperty("error").GetString());
        string message = document.RootElement.GetProperty("message").GetString()!;
        Assert.False(string.IsNullOrEmpty(message));
        return message;
    }

    /// <summary>The target of the <c>Link: &lt;...&gt;; rel="next"</c> header, or null.</summary>
    public static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        string link = values.Single();
        Assert.EndsWith("; rel=\"next\"", link, StringComparison.Ordinal);
        return link[1..link.IndexOf('>', StringComparison.Ordinal)];
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>A shared server with the HTTP port and no password.</summary>
public sealed class HttpServerFixture : ServerFixture
{
    /// <inheritdoc />
    protected override ServerSettings Settings => new() { Http = true };
}
