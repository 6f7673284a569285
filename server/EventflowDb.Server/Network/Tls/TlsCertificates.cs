using System.Net.Security;
using EventflowDb.Server.Configuration;

namespace EventflowDb.Server.Network.Tls;

/// <summary>
/// The TLS material in use and its reloads (SIGHUP, CONFIG SET). A reload loads the new files completely before it
/// swaps them in, so a failed one leaves the old certificate serving; new handshakes take the new material, and
/// connections already established keep the session they negotiated.
/// </summary>
internal sealed class TlsCertificates(ServerOptions options, Serilog.ILogger logger)
{
    private readonly Lock _lock = new();
    private volatile TlsMaterial? _material;

    /// <summary>What the next handshake uses; null while no certificate is configured.</summary>
    public SslServerAuthenticationOptions? HandshakeOptions => _material?.AuthenticationOptions;

    /// <summary>What the HTTP port's next HTTPS handshake uses; null while no certificate is configured.</summary>
    public SslServerAuthenticationOptions? HttpHandshakeOptions => _material?.HttpAuthenticationOptions;

    /// <summary>The loaded files in use (certificate and CA), or null: the cluster's peer TLS reads them per handshake.</summary>
    public TlsMaterial? Material => _material;

    /// <summary>The server certificate in use, or null.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate => _material?.Certificate;

    /// <summary>Successful loads since the start (the first load included).</summary>
    public long Loads { get; private set; }

    /// <summary>
    /// Applies <paramref name="change"/> to the current TLS settings, loads the files it names (when a certificate
    /// and key are set) and makes them current, recording the new settings in <see cref="ServerOptions.Tls"/>.
    /// Throws <see cref="TlsFileException"/> and keeps everything as it was when the files cannot be used.
    /// </summary>
    public void Apply(Func<TlsOptions, TlsOptions> change, string reason)
    {
        lock (_lock)
        {
            var next = change(options.Tls);
            if (next.Cluster && (next.CertFile is null || next.KeyFile is null || next.CaCertFile is null))
            {
                // The cluster's peers are checked against these files at each new connection.
                throw new TlsFileException(next.CaCertFile is null ? "tls-ca-cert-file" : next.CertFile is null ? "tls-cert-file" : "tls-key-file", "tls-cluster is on: the certificate, its key and the CA file stay required");
            }

            TlsMaterial? material = null;
            if (next.CertFile is not null && next.KeyFile is not null)
            {
                material = TlsMaterial.Load(next);
            }
            else if (next.Enabled)
            {
                throw new TlsFileException(next.CertFile is null ? "tls-cert-file" : "tls-key-file", "the TLS port needs both tls-cert-file and tls-key-file");
            }

            _material = material;
            options.Tls = next;
            if (material is null)
            {
                return;
            }

            Loads++;
            var certificate = material.Certificate;
            logger.Information(
                "TLS certificate {Subject} (valid {NotBefore:u} to {NotAfter:u}) loaded from {CertFile} ({Reason})",
                certificate.Subject, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), next.CertFile, reason);
            if (certificate.NotAfter < DateTime.Now || certificate.NotBefore > DateTime.Now)
            {
                logger.Warning("TLS certificate {Subject} is not valid now (valid {NotBefore:u} to {NotAfter:u}); clients will refuse it", certificate.Subject, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());
            }
        }
    }

    /// <summary>SIGHUP: the same files read again (renewed in place); a failure is logged and the old material kept.</summary>
    public void ReloadFiles()
    {
        if (options.Tls.CertFile is null)
        {
            logger.Information("SIGHUP: no TLS certificate configured, nothing to reload");
            return;
        }

        try
        {
            Apply(current => current, "SIGHUP");
        }
        catch (TlsFileException e)
        {
            logger.Error("TLS reload on SIGHUP failed, the previous certificate stays in use: {Error}", e.Message);
        }
    }
}
