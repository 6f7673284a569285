using EventflowDb.Protocol;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Network;
using EventflowDb.Server.Network.Tls;

namespace EventflowDb.Server.Commands.Server;

/// <summary>
/// CONFIG SET name value [name value ...], as Redis: every pair is checked first and all are applied together or none.
/// The TLS files and tls-auth-clients can change at run time (the new certificate serves new connections; existing
/// ones keep theirs), and so can the SLOWLOG settings; other settings are fixed at start.
/// </summary>
internal static class ConfigSet
{
    private static readonly string[] TlsSettings = ["tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients"];

    private static readonly string[] Settable = [.. TlsSettings, "slowlog-log-slower-than", "slowlog-max-len"];

    public static void Execute(ClientSession session, RespRequest request)
    {
        if (request.Count < 4 || request.Count % 2 != 0)
        {
            throw CommandException.Syntax("wrong number of arguments for 'config|set' command");
        }

        var known = ConfigValues.Of(session.Server.Options, session.Server.SlowLog);
        var changes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 2; i < request.Count; i += 2)
        {
            string name = request.GetString(i).ToLowerInvariant();
            if (Array.IndexOf(Settable, name) < 0)
            {
                throw known.Any(setting => setting.Name == name)
                    ? Failed(name, "can't set immutable config")
                    : CommandException.Syntax($"Unknown option or number of arguments for CONFIG SET - '{ErrorText.Excerpt(request[i])}'");
            }

            if (!changes.TryAdd(name, request.GetString(i + 1)))
            {
                throw Failed(name, "duplicate parameter");
            }
        }

        TlsAuthClients? authClients = null;
        if (changes.TryGetValue("tls-auth-clients", out string? mode))
        {
            try
            {
                authClients = TlsOptions.ParseAuthClients(mode, "tls-auth-clients");
            }
            catch (FormatException)
            {
                throw Failed("tls-auth-clients", "argument(s) must be one of the following: no, yes, optional");
            }
        }

        long? slowerThan = changes.TryGetValue("slowlog-log-slower-than", out string? threshold)
            ? long.TryParse(threshold, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long micros)
                ? micros
                : throw Failed("slowlog-log-slower-than", "argument couldn't be parsed into an integer")
            : null;
        int? maxLength = changes.TryGetValue("slowlog-max-len", out string? length)
            ? int.TryParse(length, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int entries) && entries <= 1_000_000
                ? entries
                : throw Failed("slowlog-max-len", "argument must be a whole number from 0 to 1000000")
            : null;

        if (changes.Keys.Any(name => Array.IndexOf(TlsSettings, name) >= 0))
        {
            ApplyTls(session, changes, authClients);
        }

        // Applied last: the TLS files are the only change that can still fail, and then nothing was changed.
        if (slowerThan is { } newThreshold)
        {
            session.Server.SlowLog.SlowerThanMicroseconds = newThreshold;
        }

        if (maxLength is { } newLength)
        {
            session.Server.SlowLog.MaxLength = newLength;
        }

        session.Writer.WriteOk();
    }

    private static void ApplyTls(ClientSession session, Dictionary<string, string> changes, TlsAuthClients? authClients)
    {
        try
        {
            session.Server.Tls.Apply(
                current => current with
                {
                    CertFile = Path(changes, "tls-cert-file") ?? current.CertFile,
                    KeyFile = Path(changes, "tls-key-file") ?? current.KeyFile,
                    CaCertFile = changes.TryGetValue("tls-ca-cert-file", out string? ca) ? (ca.Length == 0 ? null : ca) : current.CaCertFile,
                    AuthClients = authClients ?? current.AuthClients,
                },
                $"CONFIG SET by client {session.Id}");
        }
        catch (TlsFileException e)
        {
            session.Server.Logger.Error("CONFIG SET of TLS settings by client {ClientId} failed, the previous ones stay in use: {Error}", session.Id, e.Message);
            throw Failed(changes.ContainsKey(e.Setting) ? e.Setting : changes.Keys.First(), e.Message);
        }
    }

    /// <summary>A file path; empty keeps the current one (the certificate and its key cannot be removed at run time).</summary>
    private static string? Path(Dictionary<string, string> changes, string name) =>
        changes.TryGetValue(name, out string? value) && value.Length > 0 ? value : null;

    private static CommandException Failed(string name, string reason) =>
        CommandException.Syntax($"CONFIG SET failed (possibly related to argument '{name}') - {reason}");
}
