using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EventflowDb.Tests.Harness;

/// <summary>A certificate and its private key as PEM files, and loaded (with the key) for .NET clients.</summary>
public sealed record PemPair(string CertFile, string KeyFile)
{
    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Load() => X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
}

/// <summary>
/// A throw-away PKI in a temp directory, made with <see cref="CertificateRequest"/> (ECDSA P-256): a CA, a server
/// certificate for localhost and 127.0.0.1, client certificates (one valid, one expired), and a second, untrusted
/// CA with a server and a client certificate of its own, for the refusals. Everything is written as PEM.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly X509Certificate2 _otherCa;
    private int _issued;

    private TestCertificates(string directory)
    {
        Directory = directory;
        Ca = CreateCa("EventflowDB Test CA");
        _otherCa = CreateCa("Untrusted Test CA");
        CaFile = WritePem("ca.pem", Ca.ExportCertificatePem());
        OtherCaFile = WritePem("other-ca.pem", _otherCa.ExportCertificatePem());
        Server = IssueServer("localhost");
        Client = IssueClient("client");
        ExpiredClient = Issue("expired-client", Ca, "CN=expired-client", ClientAuth, DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1), null);
        UntrustedServer = Issue("untrusted-server", _otherCa, "CN=localhost", ServerAuth, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), ["localhost"], [IPAddress.Loopback]);
        UntrustedClient = Issue("untrusted-client", _otherCa, "CN=untrusted-client", ClientAuth, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), null);
    }

    /// <summary>The directory holding the PEM files (deleted on dispose).</summary>
    public string Directory { get; }

    /// <summary>The trusted CA (no private key exported).</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>PEM of the trusted CA: the server's <c>--tls-ca-cert-file</c> and the clients' <c>--cacert</c>.</summary>
    public string CaFile { get; }

    /// <summary>PEM of the untrusted CA.</summary>
    public string OtherCaFile { get; }

    /// <summary>Server certificate for localhost and 127.0.0.1, signed by the trusted CA.</summary>
    public PemPair Server { get; }

    /// <summary>Client certificate signed by the trusted CA.</summary>
    public PemPair Client { get; }

    /// <summary>Client certificate signed by the trusted CA that expired yesterday.</summary>
    public PemPair ExpiredClient { get; }

    /// <summary>Server certificate for localhost signed by the untrusted CA.</summary>
    public PemPair UntrustedServer { get; }

    /// <summary>Client certificate signed by the untrusted CA.</summary>
    public PemPair UntrustedClient { get; }

    /// <summary>Creates the PKI in a fresh temp directory.</summary>
    public static TestCertificates Create() => new(ServerProcess.NewTempDirectory());

    /// <summary>A new server certificate of the trusted CA for <paramref name="dnsName"/> (and 127.0.0.1 when <paramref name="withLoopbackAddress"/>).</summary>
    public PemPair IssueServer(string dnsName, bool withLoopbackAddress = true) =>
        Issue("server", Ca, $"CN={dnsName}", ServerAuth, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), [dnsName], withLoopbackAddress ? [IPAddress.Loopback] : []);

    /// <summary>A new client certificate of the trusted CA.</summary>
    public PemPair IssueClient(string name) =>
        Issue(name, Ca, $"CN={name}", ClientAuth, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), null);

    /// <inheritdoc />
    public void Dispose()
    {
        Ca.Dispose();
        _otherCa.Dispose();
        ServerProcess.TryDeleteDirectory(Directory);
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    private PemPair Issue(string stem, X509Certificate2 issuer, string subject, Oid usage, DateTimeOffset notBefore, DateTimeOffset notAfter, string[]? dnsNames, IPAddress[]? addresses = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (dnsNames is not null || addresses is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (string dns in dnsNames ?? [])
            {
                names.AddDnsName(dns);
            }

            foreach (var address in addresses ?? [])
            {
                names.AddIpAddress(address);
            }

            request.CertificateExtensions.Add(names.Build());
        }

        byte[] serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var certificate = request.Create(issuer, notBefore, notAfter, serial);
        int n = Interlocked.Increment(ref _issued);
        return new PemPair(
            WritePem($"{stem}-{n}.pem", certificate.ExportCertificatePem()),
            WritePem($"{stem}-{n}.key", key.ExportPkcs8PrivateKeyPem()));
    }

    private string WritePem(string name, string pem)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem + "\n");
        return path;
    }
}
