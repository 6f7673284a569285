using System.Globalization;
using EventflowDb.Protocol;
using EventflowDb.Server.Cluster;
using EventflowDb.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Cluster;

/// <summary>What SEED refuses (paths, ids, offsets, a second copy in use, users without @admin, standalone servers) and authentication.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SeedRefusalTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Seed_refuses_unlisted_paths_wrong_ids_bad_offsets_a_second_copy_in_use_users_without_admin_or_every_stream_and_standalone_servers()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync(Generous);
        Assert.False((await cluster.WriteAsync("ADD", "s", "any", "T", "{}")).IsError());
        await cluster.WaitForConvergenceAsync(Generous);
        var member = cluster.Members[(leader + 2) % 3];
        await using var c = await member.OpenRawAsync();
        var begin = (await c.CommandAsync("SEED", "BEGIN")).Arr();
        string id = begin[0].Str();
        var paths = Enumerable.Range(0, (begin.Count - 5) / 2).Select(i => begin[5 + (2 * i)].Str()).ToList();
        Assert.Contains("snapshot.bin", paths);
        Assert.Contains("store.meta", paths);
        Assert.Contains(paths, p => p.StartsWith("log/", StringComparison.Ordinal));
        Assert.Contains(paths, p => p.StartsWith("index/", StringComparison.Ordinal));
        Assert.All(paths, p => Assert.False(p.StartsWith("raft", StringComparison.Ordinal) || p.Contains('\\', StringComparison.Ordinal) || p.StartsWith('/')));

        // A listed file reads; the end of a file is an empty bulk string.
        long metaSize = begin[5 + (2 * paths.IndexOf("store.meta")) + 1].Int();
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

        // @admin with read patterns that do not cover every stream: the copy holds them all, so it is refused and logged.
        Assert.Equal("OK", (await c.CommandAsync("ACL", "LOG", "RESET")).Str());
        Assert.Equal("OK", (await c.CommandAsync("ACL", "SETUSER", "narrow", "on", ">n", "~account-*", "+@admin", "+@connection")).Str());
        await using (var narrow = await member.OpenRawAsync())
        {
            Assert.Equal("OK", (await narrow.CommandAsync("AUTH", "narrow", "n")).Str());
            Assert.Equal("NOPERM No permissions to access a stream", await narrow.ErrorAsync("SEED", "BEGIN"));
            Assert.Equal("NOPERM No permissions to access a stream", await narrow.ErrorAsync("SEED", "READ", next[0].Str(), "store.meta", "0"));
        }

        var logged = (await c.CommandAsync("ACL", "LOG")).Arr()
            .Select(e => e.Arr().Where(v => v.Type != RespType.Integer).Select(v => v.Str()).ToList()).ToList();
        Assert.Contains(logged, fields => fields.Contains("narrow") && fields.Contains("key") && fields.Contains("*"));

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
    public async Task A_member_unreachable_is_an_io_error_naming_its_address()
    {
        int port = ServerProcess.FreePort();
        var e = await Assert.ThrowsAsync<IOException>(() => SeedFetcher.FetchAsync(
            $"127.0.0.1:{port}", SeedCredentials.None, SeedTransport.Plain, Path.Combine(ServerProcess.NewTempDirectory(), "in"), Serilog.Core.Logger.None, CancellationToken.None));
        Assert.StartsWith($"127.0.0.1:{port}: ", e.Message, StringComparison.Ordinal);
    }
}
