using System.Net.Sockets;
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
    public async Task Members_with_certificates_of_the_CA_replicate_and_the_peer_port_refuses_plain_and_anonymous_TLS_peers()
    {
        await using var cluster = await TestCluster.StartAsync(3, PeerTls(_certificates.Server));
        var written = await cluster.WriteAsync("ADD", "secured", "any", "Written", "{}");
        Assert.False(written.IsError(), RespText.Describe(written) + cluster.Output);
        await cluster.WaitForConvergenceAsync(Generous);
        Assert.Contains("with TLS", cluster.Members[0].Output);

        // Plain bytes on the peer port: no Raft answer, the connection is closed.
        using (var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await plain.ConnectAsync("127.0.0.1", cluster.PeerPorts[0]);
            await plain.SendAsync(new byte[64]);
            using var stream = new NetworkStream(plain);
            stream.ReadTimeout = 10_000;
            var buffer = new byte[256];
            int read;
            try
            {
                read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Generous);
            }
            catch (IOException)
            {
                read = 0;
            }

            Assert.Equal(0, read);
        }

        // TLS without a client certificate: the server's certificate checks out against the CA, but the member refuses
        // the handshake (TLS 1.3 reports that on the first read, so a read follows).
        var anonymous = async () =>
        {
            await using var connection = await RespConnection.OpenTlsAsync(cluster.PeerPorts[1], new TlsClientOptions(_certificates.Ca), Generous);
            await connection.SendAsync(new byte[16]);
            await connection.ReadReplyAsync();
        };
        var refused = await Assert.ThrowsAnyAsync<Exception>(anonymous);
        Assert.True(refused is AuthenticationException or IOException, refused.ToString());

        var after = await cluster.WriteAsync("ADD", "secured", "any", "After", "{}");
        Assert.False(after.IsError(), RespText.Describe(after) + cluster.Output);
        await cluster.WaitForConvergenceAsync(Generous);
    }

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
