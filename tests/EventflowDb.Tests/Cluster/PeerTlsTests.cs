using System.Security.Authentication;
using EventflowDb.Tests.Harness;
using Xunit;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// <c>--tls-cluster yes</c>: the Raft traffic between members is TLS, authenticated both ways against the CA file, so a
/// peer without a certificate of that CA can neither join nor listen in.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PeerTlsTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private string[] PeerTls(PemPair certificate) =>
        ["--tls-cluster", "yes", "--tls-cert-file", certificate.CertFile, "--tls-key-file", certificate.KeyFile, "--tls-ca-cert-file", _certificates.CaFile];

    [Fact]
    public async Task Members_with_certificates_of_the_CA_replicate_and_the_peer_port_admits_only_server_certificates_of_that_CA()
    {
        await using var cluster = await TestCluster.StartAsync(3, PeerTls(_certificates.Server));
        var written = await cluster.WriteAsync("ADD", "secured", "any", "Written", "{}");
        Assert.False(written.IsError(), RespText.Describe(written) + cluster.Output);
        await cluster.WaitForConvergenceAsync(Generous);
        Assert.Contains("with TLS", cluster.Members[0].Output);

        // Handshakes with a member's peer port. .NET checks a client certificate once the TLS handshake is done, so a
        // refused peer sees the connection closed; the member logs each refusal. The control: a server certificate of
        // the CA is admitted, both sides authenticated, and never logged as refused.
        var member = cluster.Members[1];
        await using (var admitted = await HandshakeAsync(cluster.PeerPorts[1], _certificates.Server))
        {
            Assert.True(admitted.Tls!.IsMutuallyAuthenticated);
        }

        // No certificate, a RESP client certificate of the same CA (client authentication only), another CA's server
        // certificate: each is refused.
        var refusals = new (PemPair? Certificate, string Logged)[]
        {
            (null, "refused a peer TLS connection: no certificate"),
            (_certificates.Client, "refused a peer TLS connection: certificate 'CN=client' issued by 'CN=EventflowDB Test CA'"),
            (_certificates.UntrustedServer, "refused a peer TLS connection: certificate 'CN=localhost' issued by 'CN=Untrusted Test CA'"),
        };
        foreach (var (certificate, logged) in refusals)
        {
            try
            {
                await using var connection = await HandshakeAsync(cluster.PeerPorts[1], certificate);
                await connection.SendAsync(new byte[16]);
                await connection.ReadReplyAsync();
            }
            catch (Exception e) when (e is AuthenticationException or IOException or TimeoutException)
            {
                // Closed by the member (or refused during the handshake): what the log below confirms.
            }

            await WaitForOutputAsync(member, logged);
        }

        Assert.DoesNotContain("certificate 'CN=localhost' issued by 'CN=EventflowDB Test CA'", member.Output);

        var after = await cluster.WriteAsync("ADD", "secured", "any", "After", "{}");
        Assert.False(after.IsError(), RespText.Describe(after) + cluster.Output);
        await cluster.WaitForConvergenceAsync(Generous);
    }

    private static async Task WaitForOutputAsync(ServerProcess member, string text)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!member.Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < Generous, $"the member never logged \"{text}\":\n{member.Output}");
            await Task.Delay(50);
        }
    }

    private async Task<RespConnection> HandshakeAsync(int port, PemPair? certificate) =>
        await RespConnection.OpenTlsAsync(
            port,
            new TlsClientOptions(_certificates.Ca) { ClientCertificate = certificate?.Load(), Protocols = SslProtocols.Tls12 },
            Generous);

    [Fact]
    public async Task A_member_whose_certificate_another_CA_signed_never_joins_while_the_other_two_serve()
    {
        await using var cluster = await TestCluster.StartAsync(
            [PeerTls(_certificates.Server), PeerTls(_certificates.Server), PeerTls(_certificates.UntrustedServer)]);
        for (int i = 0; i < 5; i++)
        {
            var written = await cluster.WriteAsync("ADD", "secured", "any", "Written", "{}");
            Assert.False(written.IsError(), RespText.Describe(written) + cluster.Output);
        }

        int leader = await cluster.WaitForLeaderAsync(Generous);
        Assert.NotEqual(2, leader);
        await cluster.WaitForConvergenceAsync(Generous, which: [0, 1]);

        // The impostor got nothing: no event, no leader; its peers logged the refused handshakes.
        Assert.Equal(0, (await TestCluster.CommandAsync(cluster.Members[2], "EVENTCOUNT")).Int());
        string info = (await TestCluster.CommandAsync(cluster.Members[2], "INFO", "cluster")).Str();
        Assert.Contains("cluster_leader:\r\n", info);
    }

    [Fact]
    public async Task Tls_cluster_without_the_CA_file_refuses_to_start()
    {
        string data = ServerProcess.NewTempDirectory();
        try
        {
            int peer = ServerProcess.FreePort();
            var (code, output) = await ServerProcess.RunToExitAsync(
                ["--port", ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", data,
                 "--cluster-port", peer.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cluster-members", $"127.0.0.1:{peer}",
                 "--tls-cluster", "yes", "--tls-cert-file", _certificates.Server.CertFile, "--tls-key-file", _certificates.Server.KeyFile]);
            Assert.True(code != 0 && output.Contains("tls-cluster", StringComparison.Ordinal) && output.Contains("--tls-ca-cert-file", StringComparison.Ordinal), $"exit {code}:\n{output}");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
