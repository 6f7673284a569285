using System.Globalization;
using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>The TLS options of the typed client, each against a real server's TLS port with generated certificates.</summary>
public sealed class TlsTests(ITestOutputHelper output) : IntegrationTest(output), IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    private static string TlsConnectionString(ServerProcess server, string? extra = null) =>
        string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{server.TlsPort},connectTimeout=15000,asyncTimeout=30000,syncTimeout=30000,abortConnect=true")
        + (extra is null ? "" : "," + extra);

    private static EventData One() => new("Encrypted", "{\"n\":1}"u8.ToArray());

    private static async Task RoundTripAsync(EventflowDbClient client)
    {
        string stream = $"tls-{Guid.NewGuid():N}";
        await client.AppendAsync(stream, ExpectedVersion.NoStream, One());
        Assert.Single(await client.ReadStreamAsync(stream).CollectAsync());
    }

    [Fact]
    public async Task UseTls_with_the_CA_certificate_connects_to_the_tls_port()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, TlsOnly = true });
        await using var client = await EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { UseTls = true, CaCertificate = _certificates.Ca });
        await RoundTripAsync(client);
    }

    [Fact]
    public async Task Without_the_CA_the_server_certificate_is_not_trusted()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, TlsOnly = true });
        // StackExchange.Redis reports a refused server certificate as an authentication failure.
        await Assert.ThrowsAsync<AuthenticationException>(
            () => EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { UseTls = true }));
    }

    [Fact]
    public async Task A_client_certificate_is_presented_when_the_server_requires_one()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, TlsOnly = true, ExtraArgs = ["--tls-auth-clients", "yes"] });
        using var certificate = _certificates.Client.Load();
        await using var client = await EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { CaCertificate = _certificates.Ca, ClientCertificate = certificate });
        await RoundTripAsync(client);

        // Under TLS 1.3 the server refuses the missing certificate after the client's side of the handshake has finished,
        // so StackExchange.Redis reports it either as an authentication failure or as a closed connection, depending on timing.
        var refused = await Assert.ThrowsAnyAsync<EventflowDbException>(
            () => EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { CaCertificate = _certificates.Ca }));
        Assert.True(refused is AuthenticationException or EventflowDbConnectionException, refused.ToString());
    }

    [Fact]
    public async Task TlsHost_names_the_host_the_certificate_must_carry()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, TlsOnly = true });
        await using (var client = await EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { CaCertificate = _certificates.Ca, TlsHost = "localhost" }))
        {
            await RoundTripAsync(client);
        }

        await Assert.ThrowsAsync<AuthenticationException>(
            () => EventflowDbClient.ConnectAsync(TlsConnectionString(server), new EventflowDbClientOptions { CaCertificate = _certificates.Ca, TlsHost = "db.example.org" }));
    }

    [Fact]
    public async Task A_user_over_tls_authenticates_with_the_User_option()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Password = "tls-admin" });
        await using (var admin = await server.OpenAuthenticatedRawAsync())
        {
            Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "app", "on", ">app-pw", "~app-*", "+@all")).Str());
        }

        await using var client = await EventflowDbClient.ConnectAsync(
            TlsConnectionString(server), new EventflowDbClientOptions { CaCertificate = _certificates.Ca, User = "app", Password = "app-pw" });
        string stream = $"app-{Guid.NewGuid():N}";
        await client.AppendAsync(stream, ExpectedVersion.NoStream, One());
        await Assert.ThrowsAsync<PermissionDeniedException>(() => client.AppendAsync($"other-{Guid.NewGuid():N}", ExpectedVersion.Any, One()));
    }

    public void Dispose() => _certificates.Dispose();
}
