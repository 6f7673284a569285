using System.ComponentModel;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using EventflowDb.Client;
using Spectre.Console;
using Spectre.Console.Cli;
using StackExchange.Redis;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>The connection options of every command that talks to a server.</summary>
public class ServerCommandSettings : CommandSettings
{
    /// <summary>The default server address.</summary>
    public const string DefaultServer = "127.0.0.1:6543";

    /// <summary>The server's host:port.</summary>
    [CommandOption("-s|--server <HOST:PORT>")]
    [Description("Server address (default 127.0.0.1:6543).")]
    public string? Server { get; set; }

    /// <summary>The ACL user.</summary>
    [CommandOption("--user <USER>")]
    [Description("User to authenticate as (default: the user 'default').")]
    public string? User { get; set; }

    /// <summary>The password (else EFDB_PASSWORD).</summary>
    [CommandOption("--password <PASSWORD>")]
    [Description("Password (default: the EFDB_PASSWORD environment variable; none when unset).")]
    public string? Password { get; set; }

    /// <summary>Connect with TLS.</summary>
    [CommandOption("--tls")]
    [Description("Connect with TLS (the server's --tls-port).")]
    public bool Tls { get; set; }

    /// <summary>The CA certificate file (PEM).</summary>
    [CommandOption("--cacert <FILE>")]
    [Description("PEM file of the CA that signed the server's certificate (implies --tls).")]
    public string? CaCert { get; set; }

    /// <summary>True when <see cref="Server"/> was given.</summary>
    public bool ServerGiven => Server is not null;

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        string server = Server ?? DefaultServer;
        int colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            return ValidationResult.Error($"--server must be host:port, not '{server}'");
        }

        if (CaCert is not null && !File.Exists(CaCert))
        {
            return ValidationResult.Error($"--cacert: {CaCert} does not exist");
        }

        return base.Validate();
    }

    /// <summary>True when the server is on this machine (a relative path given to it may be resolved here).</summary>
    public bool ServerIsLocal()
    {
        string host = (Server ?? DefaultServer)[..(Server ?? DefaultServer).LastIndexOf(':')].Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>Connects to the server.</summary>
    /// <param name="replyTimeout">How long one command may wait for its reply.</param>
    /// <param name="cancellationToken">Stops the connect.</param>
    public Task<EventflowDbClient> ConnectAsync(TimeSpan replyTimeout, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationOptions
        {
            ConnectTimeout = 10_000,
            AsyncTimeout = (int)Math.Min(int.MaxValue, replyTimeout.TotalMilliseconds),
            SyncTimeout = (int)Math.Min(int.MaxValue, replyTimeout.TotalMilliseconds),
            AbortOnConnectFail = true,
            ConnectRetry = 1,
            ClientName = "efdb",
            AllowAdmin = true, // INFO (stats) is an admin command to StackExchange.Redis
        };
        configuration.EndPoints.Add(Server ?? DefaultServer);
        var options = new EventflowDbClientOptions
        {
            User = User,
            Password = Password ?? Environment.GetEnvironmentVariable("EFDB_PASSWORD"),
            UseTls = Tls || CaCert is not null ? true : null,
            CaCertificate = CaCert is null ? null : X509CertificateLoader.LoadCertificateFromFile(CaCert),
        };
        return EventflowDbClient.ConnectAsync(configuration, options, cancellationToken);
    }
}
