using System.Globalization;
using EventflowDb.Server.Cluster;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// SEED (a member's whole store, served over its RESP port for a member that must rebuild its own) and
/// <see cref="SeedFetcher"/>, against real cluster members: the fetched directory is a data directory serving the same
/// events, checksum and consumer groups; what it refuses; authentication.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SeedTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_fetched_copy_of_a_follower_or_the_leader_serves_the_same_events_checksum_and_groups_and_a_second_fetch_gets_new_events()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        await using (var writer = await RespConnection.OpenAsync(cluster.Members[leader].Port))
        {
            for (int i = 0; i < 300; i++)
            {
                var added = await writer.CommandAsync("ADD", $"order-{i % 7}", "any", "Placed", $"{{\"n\":{i}}}");
                Assert.False(added.IsError(), RespText.Describe(added) + cluster.Output);
            }

            Assert.Equal("OK", (await writer.CommandAsync("GROUP", "CREATE", "billing", "category:order", "0")).Str());
            var read = (await writer.CommandAsync("GROUP", "READ", "billing", "alice", "COUNT", "5")).Arr();
            Assert.Equal(5, read.Count);
            string first = System.Text.Json.JsonDocument.Parse(read[0].Str()).RootElement.GetProperty("id").GetString()!;
            Assert.Equal(1, (await writer.CommandAsync("GROUP", "ACK", "billing", first)).Int());
        }

        await cluster.WaitForConvergenceAsync(Generous);
        string groupInfo = RespText.Describe(await TestCluster.CommandAsync(cluster.Members[leader], "GROUP", "INFO", "billing"));
        Assert.Contains("alice", groupInfo, StringComparison.Ordinal);
        var checksum = (await TestCluster.CommandAsync(cluster.Members[leader], "CHECKSUM")).Strings();
        int follower = (leader + 1) % 3;
        string root = ServerProcess.NewTempDirectory();
        try
        {
            foreach (int member in new[] { follower, leader })
            {
                string target = Path.Combine(root, $"seed-in-{member}");
                var result = await FetchAsync(cluster.Members[member], target);
                output.WriteLine($"member {member}: {result}");
                Assert.Equal(checksum[0], result.LastId.ToString());
                Assert.Equal(checksum[1], result.Checksum.ToString("x16", CultureInfo.InvariantCulture));
                Assert.Equal(300, result.Events);
                Assert.True(File.Exists(Path.Combine(target, "consumer-groups.journal")));
                Assert.False(Directory.Exists(Path.Combine(target, "raft")), "the Raft directory is no part of the copy");
                Assert.False(File.Exists(Path.Combine(target, "backup.json")));
                await AssertServesAsync(target, checksum, 300, groupInfo);
            }

            // More writes, then the follower's copy again: the new events are in it (its seed directory is updated in place).
            for (int i = 0; i < 40; i++)
            {
                Assert.False((await cluster.WriteAsync("ADD", "late", "any", "Placed", $"{{\"n\":{i}}}")).IsError());
            }

            await cluster.WaitForConvergenceAsync(Generous);
            var later = (await TestCluster.CommandAsync(cluster.Members[leader], "CHECKSUM")).Strings();
            string again = Path.Combine(root, $"seed-in-{follower}");
            var second = await FetchAsync(cluster.Members[follower], again);
            Assert.Equal(later[0], second.LastId.ToString());
            Assert.Equal(340, second.Events);
            await AssertServesAsync(again, later, 340, groupInfo);
            var begun = cluster.Members[follower].Output.Split('\n').Where(l => l.Contains("Seed ", StringComparison.Ordinal) || l.Contains("Backup to", StringComparison.Ordinal)).ToList();
            output.WriteLine(string.Join('\n', begun));
            Assert.Equal(2, begun.Count(l => l.Contains(" begun for client ", StringComparison.Ordinal)));
            Assert.Equal(2, begun.Count(l => l.Contains(" ended by client ", StringComparison.Ordinal)));
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(root);
        }
    }

    [Fact]
    public async Task Seed_refuses_unlisted_paths_wrong_ids_bad_offsets_a_second_copy_in_use_users_without_admin_and_standalone_servers()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        Assert.False((await cluster.WriteAsync("ADD", "s", "any", "T", "{}")).IsError());
        await cluster.WaitForConvergenceAsync(Generous);
        var member = cluster.Members[(leader + 2) % 3];
        await using var c = await member.OpenRawAsync();
        var begin = (await c.CommandAsync("SEED", "BEGIN")).Arr();
        string id = begin[0].Str();
        var paths = Enumerable.Range(0, (begin.Count - 4) / 2).Select(i => begin[4 + (2 * i)].Str()).ToList();
        Assert.Contains("snapshot.bin", paths);
        Assert.Contains("store.meta", paths);
        Assert.Contains(paths, p => p.StartsWith("log/", StringComparison.Ordinal));
        Assert.Contains(paths, p => p.StartsWith("index/", StringComparison.Ordinal));
        Assert.All(paths, p => Assert.False(p.StartsWith("raft", StringComparison.Ordinal) || p.Contains('\\', StringComparison.Ordinal) || p.StartsWith('/')));

        // A listed file reads; the end of a file is an empty bulk string.
        long metaSize = begin[4 + (2 * paths.IndexOf("store.meta")) + 1].Int();
        Assert.Equal(metaSize, (await c.CommandAsync("SEED", "READ", id, "store.meta", "0")).Bytes!.Length);
        Assert.Empty((await c.CommandAsync("SEED", "READ", id, "store.meta", metaSize.ToString(CultureInfo.InvariantCulture))).Bytes!);

        string outside = Path.Combine(member.DataDirectory, "raft", "seed-out", "store.meta");
        foreach (string[] refused in new[]
        {
            new[] { "SEED", "READ", id, "../store.meta", "0" },
            ["SEED", "READ", id, "../../store.meta", "0"],
            ["SEED", "READ", id, "log/../store.meta", "0"],
            ["SEED", "READ", id, outside, "0"],
            ["SEED", "READ", id, "/etc/passwd", "0"],
            ["SEED", "READ", id, "consumer-groups.json.tmp", "0"],
            ["SEED", "READ", id, "backup.json", "0"],
            ["SEED", "READ", id, "raft/applied", "0"],
            ["SEED", "READ", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "store.meta", "0"],
            ["SEED", "READ", id, "store.meta", "-1"],
            ["SEED", "READ", id, "store.meta", "x"],
            ["SEED", "READ", id, "store.meta", (metaSize + 1).ToString(CultureInfo.InvariantCulture)],
            ["SEED", "READ", id, "store.meta"],
            ["SEED", "FETCH"],
            ["SEED", "END", "nope"],
        })
        {
            string error = await c.ErrorAsync(refused);
            output.WriteLine($"{string.Join(' ', refused)} -> {error}");
            Assert.StartsWith("ERR ", error, StringComparison.Ordinal);
        }

        // The copy is in use: another BEGIN is refused until it ends; after END its id is unknown.
        await using (var other = await member.OpenRawAsync())
        {
            Assert.StartsWith("ERR SEED busy", await other.ErrorAsync("SEED", "BEGIN"), StringComparison.Ordinal);
        }

        Assert.Equal("OK", (await c.CommandAsync("SEED", "END", id)).Str());
        Assert.StartsWith("ERR no seed", await c.ErrorAsync("SEED", "READ", id, "store.meta", "0"), StringComparison.Ordinal);
        var next = (await c.CommandAsync("SEED", "BEGIN")).Arr();
        Assert.NotEqual(id, next[0].Str());
        Assert.StartsWith("ERR no seed", await c.ErrorAsync("SEED", "READ", id, "store.meta", "0"), StringComparison.Ordinal);
        Assert.Equal("OK", (await c.CommandAsync("SEED", "END", next[0].Str())).Str());

        // @admin only, and CLUSTER still answers an error.
        Assert.Equal("OK", (await c.CommandAsync("ACL", "SETUSER", "reader", "on", ">r", "~*", "+@read", "+@connection")).Str());
        await using (var reader = await member.OpenRawAsync())
        {
            Assert.Equal("OK", (await reader.CommandAsync("AUTH", "reader", "r")).Str());
            Assert.Equal("NOPERM User reader has no permissions to run the 'seed' command", await reader.ErrorAsync("SEED", "BEGIN"));
        }

        Assert.True((await c.CommandAsync("CLUSTER", "INFO")).IsError());

        var refusedFetch = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
            $"127.0.0.1:{member.Port}", new SeedCredentials("reader", "r"), SeedTransport.Plain, Path.Combine(ServerProcess.NewTempDirectory(), "in"), Serilog.Core.Logger.None, CancellationToken.None));
        Assert.Contains($"127.0.0.1:{member.Port}", refusedFetch.Message, StringComparison.Ordinal);
        Assert.Contains("NOPERM", refusedFetch.Message, StringComparison.Ordinal);

        await using var standalone = await ServerProcess.StartAsync(new ServerSettings());
        await using var s = await standalone.OpenRawAsync();
        Assert.Equal("ERR SEED is only served by cluster members", await s.ErrorAsync("SEED", "BEGIN"));
        Assert.False(Directory.Exists(Path.Combine(standalone.DataDirectory, "raft")));
    }

    [Fact]
    public async Task With_a_password_seed_needs_auth_and_the_fetcher_authenticates()
    {
        const string Password = "seed-secret";
        await using var cluster = await TestCluster.StartWithPasswordAsync(Password);
        var member = cluster.Members[1];
        await using (var c = await member.OpenRawAsync())
        {
            Assert.StartsWith("NOAUTH", await c.ErrorAsync("SEED", "BEGIN"), StringComparison.Ordinal);
        }

        string address = $"127.0.0.1:{member.Port}";
        string target = Path.Combine(ServerProcess.NewTempDirectory(), "in");
        try
        {
            var wrong = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, new SeedCredentials(null, "not-it"), SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None));
            Assert.Contains("WRONGPASS", wrong.Message, StringComparison.Ordinal);
            var none = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, SeedCredentials.None, SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None));
            Assert.Contains("NOAUTH", none.Message, StringComparison.Ordinal);

            // The empty store of a fresh cluster: zero events, the zero id.
            var result = await SeedFetcher.FetchAsync(address, new SeedCredentials(null, Password), SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None);
            Assert.Equal(0, result.Events);
            Assert.Equal(NUlid.Ulid.Empty, result.LastId);
            var named = await SeedFetcher.FetchAsync(address, new SeedCredentials("default", Password), SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None);
            Assert.Equal(result.Files, named.Files);
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(target)!);
        }
    }

    [Fact]
    public async Task Over_tls_the_fetcher_presents_its_certificate_and_accepts_only_a_server_of_the_ca()
    {
        using var certificates = TestCertificates.Create();
        await using var cluster = await TestCluster.StartWithTlsAsync(certificates, 3, "--tls-auth-clients", "yes");
        Assert.False((await cluster.WriteAsync("ADD", "s", "any", "T", "{}")).IsError());
        await cluster.WaitForConvergenceAsync(Generous);
        var member = cluster.Members[0];
        var checksum = (await TestCluster.CommandAsync(member, "CHECKSUM")).Strings();
        string address = $"127.0.0.1:{member.TlsPort}";
        string target = Path.Combine(ServerProcess.NewTempDirectory(), "in");
        var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(certificates.Ca);
        try
        {
            // --tls-auth-clients yes: the client certificate is presented (and needed).
            var result = await SeedFetcher.FetchAsync(address, SeedCredentials.None, SeedTransport.Tls(certificates.Client.Load(), ca), target, Serilog.Core.Logger.None, CancellationToken.None);
            Assert.Equal(checksum[0], result.LastId.ToString());
            Assert.Equal(checksum[1], result.Checksum.ToString("x16", CultureInfo.InvariantCulture));
            var anonymous = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, SeedCredentials.None, SeedTransport.Tls(null, ca), target, Serilog.Core.Logger.None, CancellationToken.None));
            output.WriteLine(anonymous.Message);

            // A server whose certificate does not chain to the trusted CA is refused.
            var other = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            other.ImportFromPemFile(certificates.OtherCaFile);
            var refused = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
                address, SeedCredentials.None, SeedTransport.Tls(certificates.Client.Load(), other), target, Serilog.Core.Logger.None, CancellationToken.None));
            Assert.StartsWith(address + ": ", refused.Message, StringComparison.Ordinal);
            output.WriteLine(refused.Message);
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(target)!);
        }

        // A member's own transport: what it loads from --tls-cert-file, --tls-key-file and --tls-ca-cert-file.
        var material = EventflowDb.Server.Network.Tls.TlsMaterial.Load(new EventflowDb.Server.Configuration.TlsOptions
        {
            CertFile = certificates.Server.CertFile,
            KeyFile = certificates.Server.KeyFile,
            CaCertFile = certificates.CaFile,
        });
        var own = SeedTransport.Tls(material);
        Assert.True(own.UseTls);
        Assert.Equal(material.Certificate.Thumbprint, own.ClientCertificate!.Thumbprint);
        Assert.Equal(certificates.Ca.Thumbprint, Assert.Single(own.TrustedCertificates!).Thumbprint);
    }

    [Fact]
    public async Task A_member_unreachable_is_an_io_error_naming_its_address()
    {
        int port = ServerProcess.FreePort();
        var e = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
            $"127.0.0.1:{port}", SeedCredentials.None, SeedTransport.Plain, Path.Combine(ServerProcess.NewTempDirectory(), "in"), Serilog.Core.Logger.None, CancellationToken.None));
        Assert.StartsWith($"127.0.0.1:{port}: ", e.Message, StringComparison.Ordinal);
    }

    private static Task<SeedResult> FetchAsync(ServerProcess member, string target) =>
        SeedFetcher.FetchAsync($"127.0.0.1:{member.Port}", SeedCredentials.None, SeedTransport.Plain, target, Serilog.Core.Logger.None, CancellationToken.None);

    /// <summary>A standalone server started on the fetched directory serves the same checksum, count and group.</summary>
    private async Task AssertServesAsync(string directory, IReadOnlyList<string> checksum, long events, string groupInfo)
    {
        await using var server = await ServerProcess.StartAsync(new ServerSettings { DataDirectory = directory });
        server.KeepDataDirectory = true;
        await using var c = await server.OpenRawAsync();
        Assert.Equal(checksum, (await c.CommandAsync("CHECKSUM")).Strings());
        Assert.Equal(events, (await c.CommandAsync("EVENTCOUNT")).Int());
        Assert.Equal(groupInfo, RespText.Describe(await c.CommandAsync("GROUP", "INFO", "billing")));
        output.WriteLine(server.Output);
    }
}
