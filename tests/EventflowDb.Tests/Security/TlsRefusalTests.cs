using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>
/// SPEC.md v2 "TLS": what the TLS port refuses, each refused cleanly while the server goes on serving others:
/// plaintext on the TLS port, TLS on the plaintext port, a server certificate the client does not trust, client
/// certificates that are missing, foreign or expired (per --tls-auth-clients), TLS 1.0/1.1, a silent handshake,
/// and a configuration that cannot start.
/// </summary>
public sealed class TlsRefusalTests(ITestOutputHelper output) : IntegrationTest(output), IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    private Task<ServerProcess> StartTlsServerAsync(string authClients = "no") =>
        StartServerAsync(new ServerSettings { Tls = _certificates, ExtraArgs = ["--tls-auth-clients", authClients, "--log-level", "debug"] });

    [Fact]
    public async Task Plaintext_on_the_tls_port_is_closed_and_counted()
    {
        var server = await StartTlsServerAsync();
        await using var plain = await RespConnection.OpenAsync(server.TlsPort);
        await plain.SendCommandAsync("PING");
        Assert.True(await plain.WaitForCloseAsync(TimeSpan.FromSeconds(30)), "the server kept a plaintext connection on the TLS port open");

        await AssertStillServingAsync(server);
        await using var c = await server.OpenRawAsync();
        Assert.True(await OutputProbeInfo(c, "tls_handshake_failures") >= 1);
        Assert.Contains("TLS handshake with 127.0.0.1", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_on_the_plaintext_port_is_closed_without_a_reply_and_logged()
    {
        var server = await StartTlsServerAsync();
        var cli = await server.RedisCliTlsAsync(["-p", server.Port.ToString(CultureInfo.InvariantCulture), "PING"]);
        Assert.True(cli.ExitCode != 0 || !cli.Stdout.Contains("PONG", StringComparison.Ordinal), $"a TLS client got an answer on the plaintext port: {cli}");

        // The raw view: the handshake's first bytes get no byte back, only the close.
        await using var raw = await RespConnection.OpenAsync(server.Port);
        await raw.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03 });
        Assert.True(await raw.WaitForCloseAsync(TimeSpan.FromSeconds(30)), "the server kept a TLS handshake on the plaintext port open");

        await AssertStillServingAsync(server);
        Assert.Contains("started a TLS handshake on the plaintext port", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_server_certificate_fails_and_the_server_serves_on()
    {
        var server = await StartTlsServerAsync();
        using var other = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(_certificates.OtherCaFile);
        await Assert.ThrowsAsync<AuthenticationException>(() => server.OpenTlsAsync(new TlsClientOptions(other)));
        var cli = await server.RedisCliTlsAsync(["PING"], caFile: _certificates.OtherCaFile);
        Assert.True(cli.ExitCode != 0 || !cli.Stdout.Contains("PONG", StringComparison.Ordinal), $"redis-cli trusted a certificate of another CA: {cli}");
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task Auth_clients_yes_admits_only_certificates_of_the_ca_that_are_valid_now()
    {
        var server = await StartTlsServerAsync("yes");

        var good = await server.RedisCliTlsAsync(["PING"], _certificates.Client);
        Assert.True(good.ExitCode == 0 && good.Stdout.Trim() == "PONG", $"a valid client certificate was refused: {good}");
        await using (var c = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ClientCertificate = _certificates.Client.Load() }))
        {
            Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        }

        Assert.True(await RefusedAsync(server, null), "no client certificate was accepted with tls-auth-clients yes");
        Assert.True(await RefusedAsync(server, _certificates.UntrustedClient), "a client certificate of another CA was accepted");
        Assert.True(await RefusedAsync(server, _certificates.ExpiredClient), "an expired client certificate was accepted");
        await AssertCliRefusedAsync(server, _certificates.ExpiredClient);
        await AssertCliRefusedAsync(server, _certificates.UntrustedClient);

        var again = await server.RedisCliTlsAsync(["PING"], _certificates.Client);
        Assert.True(again.ExitCode == 0 && again.Stdout.Trim() == "PONG", $"the server stopped serving after the refusals: {again}");
        await using var plain = await server.OpenRawAsync();
        Assert.True(await OutputProbeInfo(plain, "tls_handshake_failures") >= 3);
    }

    [Fact]
    public async Task Auth_clients_optional_admits_clients_without_a_certificate_and_refuses_bad_ones()
    {
        var server = await StartTlsServerAsync("optional");
        await using (var anonymous = await server.OpenTlsAsync())
        {
            Assert.Equal("PONG", (await anonymous.CommandAsync("PING")).Str());
        }

        await using (var known = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ClientCertificate = _certificates.Client.Load() }))
        {
            Assert.Equal("PONG", (await known.CommandAsync("PING")).Str());
        }

        Assert.True(await RefusedAsync(server, _certificates.UntrustedClient), "a client certificate of another CA was accepted");
        Assert.True(await RefusedAsync(server, _certificates.ExpiredClient), "an expired client certificate was accepted");
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task Auth_clients_no_does_not_ask_for_a_certificate()
    {
        var server = await StartTlsServerAsync("no");

        // Not asked for, so not sent: even a foreign certificate does not matter.
        await using var c = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ClientCertificate = _certificates.UntrustedClient.Load() });
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        Assert.Null(c.Tls!.LocalCertificate);
    }

    [Theory]
    [InlineData("-tls1")]
    [InlineData("-tls1_1")]
    public async Task Tls_1_0_and_1_1_are_refused(string version)
    {
        var server = await StartTlsServerAsync();

        // OpenSSL offers the old versions only at security level 0; the server's refusal is then the protocol_version alert.
        var (code, text) = await Shell("openssl", "s_client", "-connect", $"127.0.0.1:{server.TlsPort}", version, "-cipher", "DEFAULT@SECLEVEL=0");
        TestOutput.WriteLine(text);
        Assert.True(code != 0, $"openssl s_client {version} connected:\n{text}");
        Assert.Contains("alert protocol version", text, StringComparison.Ordinal);
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_handshake_is_dropped()
    {
        var server = await StartTlsServerAsync();
        await using var silent = await RespConnection.OpenAsync(server.TlsPort);
        var clock = Stopwatch.StartNew();
        Assert.True(await silent.WaitForCloseAsync(TimeSpan.FromSeconds(60)), "a silent client held the TLS port for a minute");
        TestOutput.WriteLine($"dropped after {clock.Elapsed}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(5), $"dropped after only {clock.Elapsed}");
        Assert.Contains("no handshake within 10 s", server.Output, StringComparison.Ordinal);
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task A_tls_port_without_certificate_or_with_unreadable_files_refuses_to_start()
    {
        string port = ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        string tlsPort = ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        string data = ServerProcess.NewTempDirectory();
        try
        {
            var (code, text) = await ServerProcess.RunToExitAsync(["--port", port, "--data", data, "--tls-port", tlsPort]);
            Assert.True(code != 0 && text.Contains("--tls-cert-file", StringComparison.Ordinal), $"exit {code}:\n{text}");

            (code, text) = await ServerProcess.RunToExitAsync(["--port", port, "--data", data, "--tls-port", tlsPort, "--tls-cert-file", Path.Combine(data, "missing.pem"), "--tls-key-file", _certificates.Server.KeyFile]);
            Assert.True(code == 1 && text.Contains("cannot read tls-cert-file", StringComparison.Ordinal), $"exit {code}:\n{text}");

            // A key that is not the certificate's.
            (code, text) = await ServerProcess.RunToExitAsync(["--port", port, "--data", data, "--tls-port", tlsPort, "--tls-cert-file", _certificates.Server.CertFile, "--tls-key-file", _certificates.Client.KeyFile]);
            Assert.True(code == 1 && text.Contains("cannot use certificate", StringComparison.Ordinal), $"exit {code}:\n{text}");

            (code, text) = await ServerProcess.RunToExitAsync(["--port", port, "--data", data, "--tls-port", tlsPort, "--tls-cert-file", _certificates.Server.CertFile, "--tls-key-file", _certificates.Server.KeyFile, "--tls-auth-clients", "yes"]);
            Assert.True(code != 0 && text.Contains("--tls-ca-cert-file", StringComparison.Ordinal), $"exit {code}:\n{text}");

            (code, text) = await ServerProcess.RunToExitAsync(["--port", "0", "--data", data]);
            Assert.True(code != 0 && text.Contains("--tls-port", StringComparison.Ordinal), $"exit {code}:\n{text}");
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task Help_lists_the_tls_flags()
    {
        var (code, text) = await ServerProcess.RunToExitAsync(["--help"]);
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--tls-port", "--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file", "--tls-auth-clients", "TLS_PORT", "TLS_AUTH_CLIENTS" })
        {
            Assert.Contains(flag, text, StringComparison.Ordinal);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _certificates.Dispose();

    /// <summary>A TLS client with <paramref name="certificate"/> (or none) gets no answer to PING: refused in the handshake or right after it.</summary>
    private async Task<bool> RefusedAsync(ServerProcess server, PemPair? certificate)
    {
        try
        {
            await using var c = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ClientCertificate = certificate?.Load() });

            // With TLS 1.3 the client finishes its side before the server has judged its certificate: the refusal comes at the first read.
            await c.SendCommandAsync("PING");
            var reply = await c.ReadReplyAsync(TimeSpan.FromSeconds(30));
            TestOutput.WriteLine($"answered: {RespText.Describe(reply)}");
            return false;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            TestOutput.WriteLine($"refused: {e.GetType().Name}: {e.Message}");
            return true;
        }
    }

    private static async Task AssertCliRefusedAsync(ServerProcess server, PemPair certificate)
    {
        var cli = await server.RedisCliTlsAsync(["PING"], certificate);
        Assert.True(cli.ExitCode != 0 || !cli.Stdout.Contains("PONG", StringComparison.Ordinal), $"redis-cli with {certificate.CertFile} got an answer: {cli}");
    }

    /// <summary>Another TLS client and a plaintext client are both answered.</summary>
    private async Task AssertStillServingAsync(ServerProcess server)
    {
        await using (var tls = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ClientCertificate = _certificates.Client.Load() }))
        {
            Assert.Equal("PONG", (await tls.CommandAsync("PING")).Str());
        }

        await using var plain = await server.OpenRawAsync();
        Assert.Equal("PONG", (await plain.CommandAsync("PING")).Str());
    }

    private static Task<long> OutputProbeInfo(RespConnection c, string field) => EventflowDb.Tests.Limits.OutputProbe.InfoFieldAsync(c, field);

    private static async Task<(int Code, string Output)> Shell(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
