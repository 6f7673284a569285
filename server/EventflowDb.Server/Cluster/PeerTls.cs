using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using DotNext.Net.Security;
using EventflowDb.Server.Network.Tls;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// <c>--tls-cluster yes</c>: DotNext's TCP transport wrapped in TLS 1.2/1.3, authenticated both ways. Each member
/// presents the server certificate (<c>--tls-cert-file</c>) when it accepts and when it connects, and accepts a peer only
/// when the peer's certificate chains to the CA file (<c>--tls-ca-cert-file</c>; the system's roots are not trusted), so
/// nothing without a certificate of that CA can vote or append. Host names are not checked: members know each other by
/// the addresses in <c>--cluster-members</c>, often IPs, and the CA is the cluster's own. Certificates are read from
/// <see cref="TlsCertificates"/> at each handshake, so a reload (SIGHUP, CONFIG SET) reaches new peer connections too.
/// </summary>
internal sealed class PeerTls : SslOptions
{
    private readonly TlsCertificates _certificates;

    private PeerTls(TlsCertificates certificates)
        : base()
    {
        _certificates = certificates;
    }

    public static PeerTls Create(TlsCertificates certificates)
    {
        var tls = new PeerTls(certificates);
        var server = tls.ServerOptions;
        server.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        server.ClientCertificateRequired = true;
        server.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
        server.AllowRenegotiation = false;
        server.ServerCertificateSelectionCallback = (_, _) => tls.Current().Certificate;
        server.RemoteCertificateValidationCallback = tls.ValidatePeer;
        return tls;
    }

    public override SslClientAuthenticationOptions CreateClientOptions(EndPoint serverAddress) => new()
    {
        TargetHost = "eventflowdb-peer",
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        ClientCertificates = [Current().Certificate],
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current().Certificate,
        RemoteCertificateValidationCallback = ValidatePeer,
        AllowRenegotiation = false,
    };

    private TlsMaterial Current() =>
        _certificates.Material ?? throw new AuthenticationException("tls-cluster: no certificate is loaded");

    /// <summary>The peer's certificate must chain to the CA file, within its validity period; its name is not checked.</summary>
    private bool ValidatePeer(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || _certificates.Material is not { } material || material.TrustedCertificates.Count == 0)
        {
            return false;
        }

        return TlsMaterial.ChainsTo(certificate, presented, material.TrustedCertificates, usage: null);
    }
}
