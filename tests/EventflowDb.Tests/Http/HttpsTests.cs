using System.Net;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Http;

/// <summary>
/// With a TLS port the HTTP port speaks HTTPS only, with the TLS port's certificate (reloads included) and its
/// client-certificate rule; a plaintext request there is refused and the port goes on serving.
/// </summary>
public sealed class HttpsTests(ITestOutputHelper output) : IntegrationTest(output), IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    [Fact]
    public async Task With_a_tls_port_the_http_port_speaks_https_with_the_same_certificate()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Http = true });
        Assert.Equal("https", server.HttpAddress.Scheme);
        string stream = Unique("https");

        using var api = new HttpApi(server);
        var stored = await api.AppendAsync(stream, """{"n":1}""");
        Assert.Single(stored);
        Assert.Equal(_certificates.Server.Load().Thumbprint, api.ServedCertificate!.Thumbprint);

        await using var tls = await server.OpenTlsAsync();
        var events = (await tls.CommandAsync("GET", stream, "0", "10")).Arr();
        Assert.Single(events);
        Assert.Contains("https://", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plaintext_request_on_the_https_port_is_refused_and_https_goes_on()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Http = true });
        using (var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            var plainAddress = new Uri($"http://127.0.0.1:{server.HttpPort}/health");
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(plainAddress));
        }

        using var api = new HttpApi(server);
        using var health = await api.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_certificate_reloaded_by_config_set_serves_new_https_connections()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Http = true });
        await using var admin = await server.OpenRawAsync();
        var renewed = _certificates.IssueServer("localhost");
        Assert.Equal("OK", (await admin.CommandAsync("CONFIG", "SET", "tls-cert-file", renewed.CertFile, "tls-key-file", renewed.KeyFile)).Str());

        using var api = new HttpApi(server);
        using var health = await api.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(renewed.Load().Thumbprint, api.ServedCertificate!.Thumbprint);
    }

    [Fact]
    public async Task Tls_auth_clients_yes_asks_https_clients_for_a_certificate_of_the_ca()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Http = true, ExtraArgs = ["--tls-auth-clients", "yes"] });

        using (var anonymous = new HttpApi(server))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync("/stats"));
        }

        using (var untrusted = new HttpApi(server, clientCertificate: _certificates.UntrustedClient.Load()))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => untrusted.GetAsync("/stats"));
        }

        using var trusted = new HttpApi(server, clientCertificate: _certificates.Client.Load());
        using var stats = await trusted.GetAsync("/stats");
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
    }

    public void Dispose() => _certificates.Dispose();
}
