using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EventflowDb.Server.Configuration;

namespace EventflowDb.Server.Network.Tls;

/// <summary>A TLS file that cannot be used; the message names the setting and the file.</summary>
internal sealed class TlsFileException(string setting, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The setting at fault (<c>tls-cert-file</c>, ...), as CONFIG SET names it.</summary>
    public string Setting { get; } = setting;
}

/// <summary>
/// The server certificate, its chain and the client-certificate policy loaded from the PEM files of one
/// <see cref="TlsOptions"/>: everything a handshake needs, built once per load and shared by every handshake.
/// </summary>
internal sealed class TlsMaterial
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _trusted;
    private readonly TlsAuthClients _authClients;

    private TlsMaterial(X509Certificate2 certificate, SslStreamCertificateContext context, X509Certificate2Collection trusted, TlsAuthClients authClients)
    {
        Certificate = certificate;
        _trusted = trusted;
        _authClients = authClients;
        AuthenticationOptions = HandshakeOptions(context, authClients, applicationProtocols: null);
        // The HTTP port's own instance: it offers HTTP/2 and HTTP/1.1 by ALPN, and Kestrel never shares it with RESP.
        HttpAuthenticationOptions = HandshakeOptions(context, authClients, [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11]);
    }

    /// <summary>The server certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificates of the CA file (empty without one): the only roots a client or cluster peer may chain to.</summary>
    public X509Certificate2Collection TrustedCertificates => _trusted;

    /// <summary>Shared by every handshake of the TLS port (SslStream copies what it needs).</summary>
    public SslServerAuthenticationOptions AuthenticationOptions { get; }

    /// <summary>The same certificate and client-certificate rule for the HTTP port's handshakes (HTTPS).</summary>
    public SslServerAuthenticationOptions HttpAuthenticationOptions { get; }

    /// <summary>Loads the files named by <paramref name="tls"/>; throws <see cref="TlsFileException"/> naming what is wrong.</summary>
    public static TlsMaterial Load(TlsOptions tls)
    {
        string certFile = tls.CertFile ?? throw new TlsFileException("tls-cert-file", "tls-cert-file is not set");
        string keyFile = tls.KeyFile ?? throw new TlsFileException("tls-key-file", "tls-key-file is not set");
        string certPem = ReadFile("tls-cert-file", certFile);
        string keyPem = ReadFile("tls-key-file", keyFile);
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
            chain.ImportFromPem(certPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // A damaged PEM, or a key that is not the certificate's.
            throw new TlsFileException("tls-cert-file", $"cannot use certificate '{certFile}' with key '{keyFile}': {e.Message}", e);
        }

        // CreateFromPem takes the first certificate of the file; the ones after it are its chain.
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        var trusted = new X509Certificate2Collection();
        if (tls.CaCertFile is { } caFile)
        {
            string caPem = ReadFile("tls-ca-cert-file", caFile);
            try
            {
                trusted.ImportFromPem(caPem);
            }
            catch (CryptographicException e)
            {
                throw new TlsFileException("tls-ca-cert-file", $"cannot read CA certificates from '{caFile}': {e.Message}", e);
            }

            if (trusted.Count == 0)
            {
                throw new TlsFileException("tls-ca-cert-file", $"'{caFile}' holds no PEM certificate");
            }

            intermediates.AddRange(trusted);
        }

        if (tls.AuthClients != TlsAuthClients.No && trusted.Count == 0)
        {
            throw new TlsFileException("tls-ca-cert-file", $"tls-auth-clients {tls.AuthClientsText} needs tls-ca-cert-file (the CA that signs client certificates)");
        }

        // Offline: building the chain must not fetch anything from the network at start or reload.
        var context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        return new TlsMaterial(certificate, context, trusted, tls.AuthClients);
    }

    private SslServerAuthenticationOptions HandshakeOptions(SslStreamCertificateContext context, TlsAuthClients authClients, List<SslApplicationProtocol>? applicationProtocols) => new()
    {
        ServerCertificateContext = context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateRequired = authClients != TlsAuthClients.No,
        RemoteCertificateValidationCallback = ValidateClient,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
        ApplicationProtocols = applicationProtocols,
    };

    private static string ReadFile(string setting, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new TlsFileException(setting, $"cannot read {setting} '{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// A client certificate must chain to a certificate of the CA file (and nothing else: the system's roots are not
    /// trusted for clients), be within its validity period and allow client authentication.
    /// </summary>
    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (_authClients == TlsAuthClients.No)
        {
            return true;
        }

        if (certificate is null)
        {
            return _authClients == TlsAuthClients.Optional;
        }

        return ChainsTo(certificate, presented, _trusted, ClientAuthentication);
    }

    /// <summary>
    /// True when <paramref name="certificate"/> (with the intermediates the peer sent) chains to one of
    /// <paramref name="trusted"/> and nothing else, is within its validity period and, when given, allows
    /// <paramref name="usage"/>. Revocation is not checked (offline).
    /// </summary>
    public static bool ChainsTo(X509Certificate certificate, X509Chain? presented, X509Certificate2Collection trusted, Oid? usage)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (usage is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(usage);
        }

        if (presented is not null)
        {
            // Intermediates the peer sent along with its certificate.
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
