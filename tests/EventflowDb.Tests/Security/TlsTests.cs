using System.Net.Sockets;
using System.Security.Authentication;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Limits;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>
/// SPEC.md v2 "TLS": the TLS port with real clients (redis-cli --tls, StackExchange.Redis ssl=true, a raw SslStream
/// speaking RESP), side by side with the plaintext port or alone (--port 0), and the output limits over TLS.
/// </summary>
public sealed class TlsTests(ITestOutputHelper output) : IntegrationTest(output), IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    private Task<ServerProcess> StartTlsServerAsync(bool tlsOnly = false, params string[] extraArgs) =>
        StartServerAsync(new ServerSettings { Tls = _certificates, TlsOnly = tlsOnly, ExtraArgs = extraArgs });

    [Fact]
    public async Task Redis_cli_with_cacert_pings_adds_and_reads_over_tls()
    {
        var server = await StartTlsServerAsync();
        string stream = Unique("cli");

        var ping = await server.RedisCliTlsAsync(["PING"]);
        Assert.True(ping.ExitCode == 0 && ping.Stdout.Trim() == "PONG", $"redis-cli --tls PING: {ping}");
        var add = await server.RedisCliTlsAsync(["ADD", stream, "any", "Opened", """{"n":1}"""]);
        Assert.True(add.ExitCode == 0 && add.Stdout.Contains("\"version\":0", StringComparison.Ordinal), $"ADD: {add}");
        var get = await server.RedisCliTlsAsync(["GET", stream, "0", "10"]);
        Assert.Contains("\"type\":\"Opened\"", get.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StackExchange_Redis_with_ssl_true_and_the_ca_as_trusted_issuer_works()
    {
        var server = await StartTlsServerAsync();
        string stream = Unique("ser");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(SslConfiguration(server));
        var db = redis.GetDatabase();
        Assert.True(redis.IsConnected, "StackExchange.Redis did not connect over TLS");
        Assert.Equal("PONG", (string?)await db.ExecuteAsync("PING"));
        await db.ExecuteAsync("ADD", stream, "any", "T", """{"a":1}""");
        var events = (RedisResult[])(await db.ExecuteAsync("GET", stream, "0", "10"))!;
        Assert.Single(events);
    }

    [Fact]
    public async Task A_raw_SslStream_speaks_RESP_with_tls_1_3_and_tls_1_2()
    {
        var server = await StartTlsServerAsync();
        string stream = Unique("raw");
        foreach (var protocol in new[] { SslProtocols.Tls13, SslProtocols.Tls12 })
        {
            await using var c = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { Protocols = protocol });
            Assert.Equal(protocol, c.Tls!.SslProtocol);
            Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
            Assert.Equal("T", Json((await c.CommandAsync("ADD", stream, "any", "T", """{"a":1}""")).Arr()[0].Str())["type"]!.ToString());
            Assert.True((await c.CommandAsync("GET", stream, "0", "10")).Arr().Count >= 1);
        }

        // Pipelined requests through TLS records: every reply, in order.
        await using var pipelined = await server.OpenTlsAsync();
        var many = Enumerable.Range(0, 500).Select(i => RespConnection.Encode("ADD", stream, "any", "P", $$"""{"i":{{i}}}""")).SelectMany(b => b).ToArray();
        await pipelined.SendAsync(many);
        var replies = await pipelined.ReadRepliesAsync(500);
        Assert.All(replies, r => Assert.False(r.IsError(), RespText.Describe(r)));
        Assert.Equal(501L, Json(replies[^1].Arr()[0].Str())["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task Quit_over_tls_gets_its_reply_and_a_clean_close_notify()
    {
        var server = await StartTlsServerAsync();
        await using var c = await server.OpenTlsAsync();
        Assert.Equal("OK", (await c.CommandAsync("QUIT")).Str());

        // A clean TLS end (close_notify) reads as end of stream; a missing one would fail the read.
        var buffer = new byte[16];
        Assert.Equal(0, await c.Tls!.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Plaintext_and_tls_ports_serve_side_by_side_the_same_store()
    {
        var server = await StartTlsServerAsync();
        string stream = Unique("both");
        await using var plain = await server.OpenRawAsync();
        await using var secure = await server.OpenTlsAsync();
        Assert.False((await plain.CommandAsync("ADD", stream, "any", "FromPlain", "1")).IsError());
        Assert.False((await secure.CommandAsync("ADD", stream, "any", "FromTls", "2")).IsError());
        Assert.Equal(2, (await plain.CommandAsync("GET", stream, "0", "10")).Arr().Count);
        Assert.Equal(2, (await secure.CommandAsync("GET", stream, "0", "10")).Arr().Count);

        var config = (await plain.CommandAsync("CONFIG", "GET", "tls-*")).Arr().Select(v => v.Str()).ToList();
        Assert.Equal(server.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), config[config.IndexOf("tls-port") + 1]);
        Assert.Equal(_certificates.Server.CertFile, config[config.IndexOf("tls-cert-file") + 1]);
        Assert.Equal("no", config[config.IndexOf("tls-auth-clients") + 1]);
        Assert.Contains($"tls_port:{server.TlsPort}", (await secure.CommandAsync("INFO", "server")).Str(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_0_turns_plaintext_off_and_tls_alone_serves()
    {
        var server = await StartTlsServerAsync(tlsOnly: true);
        await Assert.ThrowsAnyAsync<SocketException>(() => RespConnection.OpenAsync(server.Port));
        await using var c = await server.OpenTlsAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        var config = (await c.CommandAsync("CONFIG", "GET", "port")).Arr();
        Assert.Equal("0", config[1].Str());
    }

    [Fact]
    public async Task A_password_is_asked_and_accepted_over_tls()
    {
        var server = await StartServerAsync(new ServerSettings { Tls = _certificates, Password = "tls-pw-1" });
        await using var c = await server.OpenTlsAsync();
        Assert.StartsWith("NOAUTH", ErrorText(await c.CommandAsync("GET", "s", "0", "1")));
        Assert.StartsWith("WRONGPASS", ErrorText(await c.CommandAsync("AUTH", "nope")));
        Assert.Equal("OK", (await c.CommandAsync("AUTH", "tls-pw-1")).Str());
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task A_tls_subscriber_that_never_reads_is_disconnected_by_the_output_limit()
    {
        var server = await StartTlsServerAsync(extraArgs: ["--client-output-buffer-limit", "normal 1mb 512kb 2 pubsub 1mb 512kb 2"]);
        await using var c = await server.OpenRawAsync();
        string stream = Unique("feed");
        await OutputProbe.AppendAsync(c, stream, 120, 100_000);

        // A TLS client with a small receive buffer that asks for 12 MB of events and never reads.
        await using var stalled = await server.OpenTlsAsync(new TlsClientOptions(_certificates.Ca) { ReceiveBufferSize = 64 * 1024 });
        await stalled.SendCommandAsync("FOLLOW", "stream:" + stream, "0");

        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "client_output_buffer_limit_disconnections", n => n >= 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(1, await OutputProbe.WaitForInfoAsync(c, "connected_clients", n => n == 1, TimeSpan.FromSeconds(30)));
        Assert.Matches(@"WRN\] Client \d+ .* \(class pubsub\) disconnected: \d+ bytes of unsent output passed its soft limit", server.Output);

        // The server goes on serving TLS clients.
        await using var next = await server.OpenTlsAsync();
        Assert.Equal("PONG", (await next.CommandAsync("PING")).Str());
    }

    /// <inheritdoc />
    public void Dispose() => _certificates.Dispose();

    internal static ConfigurationOptions SslConfiguration(ServerProcess server)
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{server.TlsPort},ssl=true,sslHost=localhost,abortConnect=false,connectTimeout=15000,asyncTimeout=30000,syncTimeout=30000");
        options.TrustIssuer(server.Certificates.CaFile);
        return options;
    }

    internal static string ErrorText(EventflowDb.Protocol.RespValue reply)
    {
        Assert.True(reply.IsError(), $"expected an error, got {RespText.Describe(reply)}");
        return reply.Text!;
    }

    private static System.Text.Json.Nodes.JsonNode Json(string text) => System.Text.Json.Nodes.JsonNode.Parse(text)!;
}
