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
/// when the peer's certificate chains to the CA file (<c>--tls-ca-cert-file</c>; the system's roots are not trusted) and
/// allows server authentication, so nothing without a server certificate of that CA can vote or append. Only the leaf
/// is sent (a selection callback, for reloads): intermediates must be in the CA file. Host names are not checked: members know each other by
/// the addresses in <c>--cluster-members</c>, often IPs, and the CA is the cluster's own. Certificates are read from
/// <see cref="TlsCertificates"/> at each handshake, so a reload (SIGHUP, CONFIG SET) reaches new peer connections too.
/// </summary>
internal sealed class PeerTls : SslOptions
{
    /// <summary>
    /// Peers present server certificates: requiring that usage keeps out the RESP clients' certificates (client
    /// authentication only) that the same CA file signs for <c>--tls-auth-clients</c>.
    /// </summary>
    private static readonly System.Security.Cryptography.Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    private static readonly TimeSpan RefusalLogEvery = TimeSpan.FromSeconds(10);

    private readonly TlsCertificates _certificates;
    private readonly Serilog.ILogger _logger;
    private readonly Dictionary<string, DateTime> _refusalsLogged = [];

    private PeerTls(TlsCertificates certificates, Serilog.ILogger logger)
        : base()
    {
        _certificates = certificates;
        _logger = logger;
    }

    public static PeerTls Create(TlsCertificates certificates, Serilog.ILogger logger)
    {
        var tls = new PeerTls(certificates, logger);
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
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current().Certificate,
        RemoteCertificateValidationCallback = ValidatePeer,
        AllowRenegotiation = false,
    };

    private TlsMaterial Current() =>
        _certificates.Material ?? throw new AuthenticationException("tls-cluster: no certificate is loaded");

    /// <summary>
    /// The peer's certificate must chain to the CA file, within its validity period, and allow server authentication; its
    /// name is not checked. A refusal is logged (once per certificate every 10 s: a misconfigured member retries often).
    /// </summary>
    private bool ValidatePeer(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is not null && _certificates.Material is { TrustedCertificates.Count: > 0 } material
            && TlsMaterial.ChainsTo(certificate, presented, material.TrustedCertificates, ServerAuthentication))
        {
            return true;
        }

        string who = certificate is null ? "no certificate" : $"certificate '{certificate.Subject}' issued by '{certificate.Issuer}'";
        var now = DateTime.UtcNow;
        lock (_refusalsLogged)
        {
            if (_refusalsLogged.TryGetValue(who, out var last) && now - last < RefusalLogEvery)
            {
                return false;
            }

            if (_refusalsLogged.Count >= 1000)
            {
                // Bounded: a stranger trying many certificates must not grow it.
                _refusalsLogged.Clear();
            }

            _refusalsLogged[who] = now;
        }

        _logger.Warning("Cluster: refused a peer TLS connection: {Peer} (a peer needs a server certificate that chains to the tls-ca-cert-file)", who);
        return false;
    }
}
