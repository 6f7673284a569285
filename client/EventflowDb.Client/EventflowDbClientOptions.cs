namespace EventflowDb.Client;

/// <summary>Behaviour of an <see cref="EventflowDbClient"/> beyond the connection string.</summary>
public sealed class EventflowDbClientOptions
{
    /// <summary>
    /// How many times an operation that is safe to repeat is sent again after the connection failed or timed out before
    /// its reply arrived. Default 1. Safe to repeat are every read and statistics command, and an append whose events
    /// <em>all</em> carry a <see cref="EventData.MessageId"/>: if the first attempt was stored, the server recognizes the
    /// message ids and returns the events stored the first time instead of storing them twice. An append with any event
    /// lacking a message id is never retried; it fails with <see cref="EventflowDbConnectionException"/> (outcome unknown).
    /// The retry waits, as every command does, until StackExchange.Redis has reconnected (within its <c>asyncTimeout</c>).
    /// 0 disables retries.
    /// </summary>
    public int ConnectionFailureRetries
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 1;

    /// <summary>
    /// With a cluster (a connection string naming every member), how long a command refused by a follower
    /// (<c>READONLY</c>: nothing was written) or during an election (<c>TRYAGAIN</c>, resent only when safe to repeat) is
    /// sent again while the client looks for the leader. Default 10 seconds.
    /// </summary>
    public TimeSpan ClusterFailoverTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The user to authenticate as (<c>AUTH &lt;user&gt; &lt;password&gt;</c>); null (the default) keeps what the connection
    /// string or <c>ConfigurationOptions.User</c> says, which is the user <c>default</c> when nothing is given.
    /// </summary>
    public string? User { get; init; }

    /// <summary>The password of <see cref="User"/>; null keeps the connection string's <c>password=</c>.</summary>
    public string? Password { get; init; }

    /// <summary>
    /// True: connect with TLS (the server's <c>--tls-port</c>); false: without; null (the default) keeps the connection
    /// string's <c>ssl=</c>. Setting <see cref="CaCertificate"/> or <see cref="ClientCertificate"/> implies TLS.
    /// </summary>
    public bool? UseTls { get; init; }

    /// <summary>
    /// The certificate of the CA that signed the server's certificate (for example a private CA's PEM file, loaded with
    /// <c>X509Certificate2.CreateFromPemFile</c> or <c>X509CertificateLoader</c>): the server's chain must end in it. Null: the
    /// operating system's trust store decides.
    /// </summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? CaCertificate { get; init; }

    /// <summary>A certificate with its private key to present to the server (<c>--tls-auth-clients yes|optional</c>).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The host name the server's certificate must carry, when it differs from the end point's host (SNI too).</summary>
    public string? TlsHost { get; init; }

    /// <summary>
    /// Events asked for per page by <see cref="EventflowDbClient.ReadStreamAsync"/>, <see cref="EventflowDbClient.ReadAllAsync"/>
    /// and streams per page by <see cref="EventflowDbClient.ListStreamsAsync"/> when the call does not say. 0 (the default)
    /// lets the server choose (its default page, 1,000 events unless configured). The server never returns more than its
    /// maximum page, whatever is asked.
    /// </summary>
    public int PageSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }
}
