using System.Globalization;

namespace EventflowDb.Server.Configuration;

/// <summary>
/// The settings as <c>CONFIG GET</c> names them (Redis's names where Redis has the setting, sizes in bytes),
/// and as the <c>limits</c> section of <c>INFO</c> shows them (the same names with underscores).
/// </summary>
internal static class ConfigValues
{
    public static IReadOnlyList<(string Name, string Value)> Of(ServerOptions options, Observability.SlowLog slowLog) =>
    [
        ("databases", "1"),
        ("replica-read-only", "yes"),
        ("slave-read-only", "yes"),
        ("port", Number(options.Port)),
        ("bind", options.EffectiveBind.ToString()),
        ("protected-mode", options.ProtectedMode ? "yes" : "no"),
        ("dir", Path.GetFullPath(options.DataDirectory)),
        ("appendonly", "yes"),
        ("appendfsync", options.FlushInterval is null ? "always" : "everysec"),
        ("save", ""),
        ("maxmemory", "0"),
        ("cluster-enabled", "no"),
        ("checkpoint-interval", Number((long)options.CheckpointInterval.TotalSeconds)),
        ("compact-interval", Number((long)options.CompactionInterval.TotalSeconds)),
        ("aclfile", options.AclFile is null ? "" : Path.GetFullPath(options.AclFile)),
        ("http-port", Number(options.HttpPort)),
        ("slowlog-log-slower-than", Number(slowLog.SlowerThanMicroseconds)),
        ("slowlog-max-len", Number(slowLog.MaxLength)),
        ("log-format", options.JsonLogs ? "json" : "text"),
        .. Limits(options),
        .. Tls(options.Tls),
    ];

    /// <summary>The TLS settings as Redis names them; the files are the ones in use (CONFIG SET changes them).</summary>
    public static IReadOnlyList<(string Name, string Value)> Tls(TlsOptions tls) =>
    [
        ("tls-port", Number(tls.Port)),
        ("tls-cert-file", tls.CertFile ?? ""),
        ("tls-key-file", tls.KeyFile ?? ""),
        ("tls-ca-cert-file", tls.CaCertFile ?? ""),
        ("tls-auth-clients", tls.AuthClientsText),
    ];

    /// <summary>Every limit against careless and hostile clients, with its current value.</summary>
    public static IReadOnlyList<(string Name, string Value)> Limits(ServerOptions options) =>
    [
        ("maxclients", Number(options.MaxClients)),
        ("timeout", Number((long)options.IdleTimeout.TotalSeconds)),
        ("tcp-keepalive", Number((long)options.TcpKeepAlive.TotalSeconds)),
        ("proto-max-bulk-len", Number(options.MaxBulkBytes)),
        ("default-page", Number(options.DefaultPage)),
        ("max-page", Number(options.MaxPage)),
        ("max-page-bytes", Number(options.MaxPageBytes)),
        ("client-output-buffer-limit", options.OutputBufferLimitText),
    ];

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
