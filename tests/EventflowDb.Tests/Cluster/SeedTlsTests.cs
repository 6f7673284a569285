using System.Globalization;
using EventflowDb.Server.Cluster;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary><see cref="SeedFetcher"/> over TLS: client certificate, the server's certificate checked against the CA.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SeedTlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Over_tls_the_fetcher_presents_its_certificate_and_accepts_only_a_server_of_the_ca()
    {
        using var certificates = TestCertificates.Create();
        await using var cluster = await TestCluster.StartWithTlsAsync(certificates, 3, "--tls-auth-clients", "yes");
        Assert.False((await cluster.WriteAsync("ADD", "s", "any", "T", "{}")).IsError());
        await cluster.WaitForConvergenceAsync(Generous);
        var member = cluster.Members[0];
        var checksum = (await TestCluster.CommandAsync(member, "CHECKSUM")).Strings();
        string address = $"127.0.0.1:{member.TlsPort}";
        string target = Path.Combine(ServerProcess.NewTempDirectory(), "in");
        var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(certificates.Ca);
        try
        {
            // --tls-auth-clients yes: the client certificate is presented (and needed).
            var result = await SeedFetcher.FetchAsync(address, SeedCredentials.None, SeedTransport.Tls(certificates.Client.Load(), ca), target, Serilog.Core.Logger.None, CancellationToken.None);
            Assert.Equal(checksum[0], result.LastId.ToString());
            Assert.Equal(checksum[1], result.Checksum.ToString("x16", CultureInfo.InvariantCulture));
            var anonymous = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, SeedCredentials.None, SeedTransport.Tls(null, ca), target, Serilog.Core.Logger.None, CancellationToken.None));
            output.WriteLine(anonymous.Message);

            // Refused by the handshake (the same address just served a copy), not by an unreachable port.
            Assert.IsNotType<System.Net.Sockets.SocketException>(anonymous.InnerException);

            // A server whose certificate does not chain to the trusted CA is refused.
            var other = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            other.ImportFromPemFile(certificates.OtherCaFile);
            var refused = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, SeedCredentials.None, SeedTransport.Tls(certificates.Client.Load(), other), target, Serilog.Core.Logger.None, CancellationToken.None));
            Assert.StartsWith(address + ": ", refused.Message, StringComparison.Ordinal);
            Assert.IsType<System.Security.Authentication.AuthenticationException>(refused.InnerException);
            output.WriteLine(refused.Message);
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(target)!);
        }

        // A member's own transport: what it loads from --tls-cert-file, --tls-key-file and --tls-ca-cert-file.
        var material = EventflowDb.Server.Network.Tls.TlsMaterial.Load(new EventflowDb.Server.Configuration.TlsOptions
        {
            CertFile = certificates.Server.CertFile,
            KeyFile = certificates.Server.KeyFile,
            CaCertFile = certificates.CaFile,
        });
        var own = SeedTransport.Tls(material);
        Assert.True(own.UseTls);
        Assert.Equal(material.Certificate.Thumbprint, own.ClientCertificate!.Thumbprint);
        Assert.Equal(certificates.Ca.Thumbprint, Assert.Single(own.TrustedCertificates!).Thumbprint);
    }
}
