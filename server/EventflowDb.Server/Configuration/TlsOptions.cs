namespace EventflowDb.Server.Configuration;

/// <summary><c>--tls-auth-clients</c>: whether TLS clients must present a certificate signed by the CA file.</summary>
internal enum TlsAuthClients
{
    /// <summary>No client certificate is asked for.</summary>
    No,

    /// <summary>A client certificate is required and validated against the CA file.</summary>
    Yes,

    /// <summary>A client certificate is asked for and validated when one is given.</summary>
    Optional,
}

/// <summary>
/// The TLS settings (Redis's names). The files may change at run time (<c>CONFIG SET</c>): the whole record is
/// replaced once the new files have loaded, so a reader always sees one consistent set.
/// </summary>
internal sealed record TlsOptions
{
    /// <summary>The TLS port; 0: no TLS listener.</summary>
    public int Port { get; init; }

    /// <summary>PEM file of the server certificate (and any intermediates after it).</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM file of the server certificate's private key.</summary>
    public string? KeyFile { get; init; }

    /// <summary>PEM file of the CA certificates that client certificates must chain to.</summary>
    public string? CaCertFile { get; init; }

    public TlsAuthClients AuthClients { get; init; } = TlsAuthClients.No;

    /// <summary><c>--tls-cluster</c>: the Raft traffic between cluster members uses mutually authenticated TLS.</summary>
    public bool Cluster { get; init; }

    public bool Enabled => Port != 0;

    /// <summary>As <c>--tls-auth-clients</c> and CONFIG GET show it.</summary>
    public string AuthClientsText => AuthClients switch
    {
        TlsAuthClients.Yes => "yes",
        TlsAuthClients.Optional => "optional",
        _ => "no",
    };

    public static TlsAuthClients ParseAuthClients(string text, string name) => text.ToUpperInvariant() switch
    {
        "YES" or "TRUE" or "1" => TlsAuthClients.Yes,
        "NO" or "FALSE" or "0" => TlsAuthClients.No,
        "OPTIONAL" => TlsAuthClients.Optional,
        _ => throw new FormatException($"{name}: '{text}' must be yes, no or optional"),
    };
}
