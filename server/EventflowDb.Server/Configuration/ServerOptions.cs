using System.Net;

namespace EventflowDb.Server.Configuration;

/// <summary>All server settings, resolved from flags, environment variables and defaults.</summary>
internal sealed class ServerOptions
{
    public int Port { get; init; } = 6543;

    public string DataDirectory { get; init; } = "./data";

    public string? Password { get; init; }

    /// <summary>Address to listen on; null means the default for the password setting.</summary>
    public IPAddress? Bind { get; init; }

    /// <summary>When true (default), a server without a password listens on loopback only.</summary>
    public bool ProtectedMode { get; init; } = true;

    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Null: acknowledge an ADD once it is fsynced. Set: acknowledge at once, fsync at least this often.</summary>
    public TimeSpan? FlushInterval { get; init; }

    /// <summary>Write the log with direct synchronous I/O where the file system allows it.</summary>
    public bool DirectIo { get; init; } = true;

    /// <summary>Start on a damaged store: copy the damaged files aside and cut the log at the damage (<c>--repair</c>).</summary>
    public bool Repair { get; init; }

    public int DefaultPage { get; init; } = 1000;

    public int MaxPage { get; init; } = 10_000;

    public int MaxBulkBytes { get; init; } = 64 * 1024 * 1024;

    public Serilog.Events.LogEventLevel LogLevel { get; init; } = Serilog.Events.LogEventLevel.Information;

    /// <summary>The address actually bound: loopback without a password, any with one, unless set.</summary>
    public IPAddress EffectiveBind => Bind ?? (Password is null ? IPAddress.Loopback : IPAddress.Any);
}
