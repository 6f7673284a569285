using System.Security.Cryptography.X509Certificates;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>
/// SPEC.md v2 "TLS": the server certificate is replaced at run time by CONFIG SET (several names at once, atomically)
/// and by SIGHUP (the same files, renewed in place). New connections get the new certificate, open ones go on; a
/// reload that fails keeps the old certificate and says why.
/// </summary>
public sealed class TlsReloadTests(ITestOutputHelper output) : IntegrationTest(output), IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    [Fact]
    public async Task Config_set_swaps_the_certificate_for_new_connections_and_keeps_open_ones()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates });
        await using var admin = await server.OpenRawAsync();
        await using var open = await server.OpenTlsAsync();
        string before = await ServedThumbprintAsync(server);
        Assert.Equal(Thumbprint(_certificates.Server), before);

        var renewed = _certificates.IssueServer("localhost");
        var reply = await admin.CommandAsync("CONFIG", "SET", "tls-cert-file", renewed.CertFile, "tls-key-file", renewed.KeyFile);
        Assert.Equal("OK", reply.Str());

        Assert.Equal(Thumbprint(renewed), await ServedThumbprintAsync(server));
        Assert.Equal("PONG", (await open.CommandAsync("PING")).Str());
        Assert.Equal(Thumbprint(_certificates.Server), open.Tls!.RemoteCertificate!.GetCertHashString());
        var config = (await admin.CommandAsync("CONFIG", "GET", "tls-cert-file")).Arr();
        Assert.Equal(renewed.CertFile, config[1].Str());
        Assert.Contains("(CONFIG SET by client", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_config_set_keeps_the_old_certificate_and_changes_nothing()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates });
        await using var admin = await server.OpenRawAsync();
        var renewed = _certificates.IssueServer("localhost");

        string missing = Path.Combine(_certificates.Directory, "missing.pem");
        string error = TlsTests.ErrorText(await admin.CommandAsync("CONFIG", "SET", "tls-cert-file", missing, "tls-key-file", renewed.KeyFile));
        Assert.StartsWith("ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - cannot read tls-cert-file", error, StringComparison.Ordinal);

        // The new certificate with the old key: refused as a whole, the key's path is not half-applied either.
        error = TlsTests.ErrorText(await admin.CommandAsync("CONFIG", "SET", "tls-cert-file", renewed.CertFile));
        Assert.Contains("cannot use certificate", error, StringComparison.Ordinal);

        Assert.Equal(Thumbprint(_certificates.Server), await ServedThumbprintAsync(server));
        var config = (await admin.CommandAsync("CONFIG", "GET", "tls-*-file")).Arr().Select(v => v.Str()).ToList();
        Assert.Equal(_certificates.Server.CertFile, config[config.IndexOf("tls-cert-file") + 1]);
        Assert.Equal(_certificates.Server.KeyFile, config[config.IndexOf("tls-key-file") + 1]);
        Assert.Contains("CONFIG SET of TLS settings by client", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_set_refuses_unknown_immutable_and_malformed_settings_as_redis_does()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("ERR Unknown option or number of arguments for CONFIG SET - 'no-such-option'", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "no-such-option", "1")));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "port", "1")));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set immutable config", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "tls-port", "1")));
        Assert.Equal("ERR wrong number of arguments for 'config|set' command", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "tls-cert-file")));
        Assert.Contains("duplicate parameter", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "tls-auth-clients", "no", "TLS-AUTH-CLIENTS", "yes")), StringComparison.Ordinal);
        Assert.Contains("must be one of the following: no, yes, optional", TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "tls-auth-clients", "maybe")), StringComparison.Ordinal);

        // A known name in a call with an unknown one changes nothing.
        TlsTests.ErrorText(await c.CommandAsync("CONFIG", "SET", "tls-auth-clients", "yes", "no-such-option", "1"));
        Assert.Equal("no", (await c.CommandAsync("CONFIG", "GET", "tls-auth-clients")).Arr()[1].Str());
    }

    [Fact]
    public async Task Config_set_tls_auth_clients_yes_asks_new_connections_for_a_certificate()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates });
        await using var admin = await server.OpenRawAsync();
        await using var anonymous = await server.OpenTlsAsync();
        Assert.Equal("OK", (await admin.CommandAsync("CONFIG", "SET", "tls-auth-clients", "yes")).Str());

        var refused = await server.RedisCliTlsAsync(["PING"]);
        Assert.True(refused.ExitCode != 0 || !refused.Stdout.Contains("PONG", StringComparison.Ordinal), $"a client without certificate was served: {refused}");
        var admitted = await server.RedisCliTlsAsync(["PING"], _certificates.Client);
        Assert.Equal("PONG", admitted.Stdout.Trim());
        Assert.Equal("PONG", (await anonymous.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task Sighup_reloads_renewed_files_and_a_broken_file_keeps_the_old_certificate()
    {
        // The server reads copies that the test renews in place, as a certificate manager would.
        string certFile = Path.Combine(_certificates.Directory, "live.pem");
        string keyFile = Path.Combine(_certificates.Directory, "live.key");
        File.Copy(_certificates.Server.CertFile, certFile);
        File.Copy(_certificates.Server.KeyFile, keyFile);
        var server = await StartServerAsync(new ServerSettings
        {
            Tls = _certificates,
            ExtraArgs = ["--tls-cert-file", certFile, "--tls-key-file", keyFile],
        });
        await using var open = await server.OpenTlsAsync();
        Assert.Equal(Thumbprint(_certificates.Server), await ServedThumbprintAsync(server));

        var renewed = _certificates.IssueServer("localhost");
        File.Copy(renewed.CertFile, certFile, overwrite: true);
        File.Copy(renewed.KeyFile, keyFile, overwrite: true);
        Assert.True(server.SignalHangup());
        await WaitForOutputAsync(server, "(SIGHUP)");
        Assert.Equal(Thumbprint(renewed), await ServedThumbprintAsync(server));
        Assert.Equal("PONG", (await open.CommandAsync("PING")).Str());

        await File.WriteAllTextAsync(certFile, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        Assert.True(server.SignalHangup());
        await WaitForOutputAsync(server, "TLS reload on SIGHUP failed");
        Assert.Matches(@"ERR\] TLS reload on SIGHUP failed", server.Output);
        Assert.Equal(Thumbprint(renewed), await ServedThumbprintAsync(server));
        Assert.True(server.IsRunning);
    }

    /// <inheritdoc />
    public void Dispose() => _certificates.Dispose();

    private static string Thumbprint(PemPair pair)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(pair.CertFile);
        return certificate.GetCertHashString();
    }

    /// <summary>The certificate a new TLS connection is served (after a PING, so the session is known to work).</summary>
    private static async Task<string> ServedThumbprintAsync(ServerProcess server)
    {
        await using var c = await server.OpenTlsAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        return c.Tls!.RemoteCertificate!.GetCertHashString();
    }

    private static async Task WaitForOutputAsync(ServerProcess server, string text)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!server.Output.Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
