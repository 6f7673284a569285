using System.Collections.Concurrent;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Compatibility;

/// <summary>StackExchange.Redis connects with its full handshake and keeps working around EventflowDB commands.</summary>
public sealed class StackExchangeRedisTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private async Task<(ConnectionMultiplexer Muxer, ConcurrentQueue<string> Problems, StringWriter Log)> ConnectWatchedAsync(RedisProtocol? protocol, bool admin = false)
    {
        var log = new StringWriter();
        var problems = new ConcurrentQueue<string>();
        var muxer = await Server.ConnectAsync(
            o =>
            {
                o.Protocol = protocol;
                o.AllowAdmin = admin;
            },
            log);
        muxer.ConnectionFailed += (_, e) => problems.Enqueue($"ConnectionFailed {e.ConnectionType} {e.FailureType}: {e.Exception?.Message}");
        muxer.InternalError += (_, e) => problems.Enqueue($"InternalError {e.Origin}: {e.Exception?.Message}");
        return (muxer, problems, log);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task Connects_with_its_full_handshake_and_runs_eventflow_commands(RedisProtocol? protocol)
    {
        var (muxer, problems, log) = await ConnectWatchedAsync(protocol);
        await using (muxer)
        {
            Assert.True(muxer.IsConnected, $"not connected; status: {muxer.GetStatus()}\nconnect log:\n{log}");
            var server = muxer.GetServer(muxer.GetEndPoints().Single());
            Assert.True(server.IsConnected, $"server not connected: {muxer.GetStatus()}\n{log}");
            Assert.Equal(ServerType.Standalone, server.ServerType);
            Assert.False(server.IsReplica);
            if (protocol is not null)
            {
                Assert.Equal(protocol, server.Protocol);
            }

            var db = muxer.GetDatabase();
            await db.PingAsync();

            string stream = Unique("se");
            for (int round = 0; round < 3; round++)
            {
                var added = await db.EventsAsync("ADD", stream, "any", "T", $$"""{"round":{{round}}}""");
                Assert.Equal(round, Assert.Single(added).Version);
                var page = await db.EventsAsync("GETALL", added[0].Id, "10");
                Assert.DoesNotContain(page, e => e.Id == added[0].Id);
                await db.PingAsync();
                Assert.Equal(round + 1, (await db.EventsAsync("GET", stream)).Count);
                Assert.True(await db.LongAsync("EVENTCOUNT") >= round + 1);
                await db.ExecuteAsync("CHECKSUM");
            }

            Assert.Equal(await db.LongAsync("STREAMCOUNT"), await db.LongAsync("DBSIZE"));
            Assert.True(problems.IsEmpty, string.Join("\n", problems) + "\nconnect log:\n" + log);
            Assert.True(muxer.IsConnected);
            string status = muxer.GetStatus();
            Assert.DoesNotContain("Disconnected", status, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Server_info_is_what_the_client_expects()
    {
        var (muxer, problems, log) = await ConnectWatchedAsync(null, admin: true);
        await using (muxer)
        {
            var server = muxer.GetServer(muxer.GetEndPoints().Single());
            var info = await server.InfoAsync("server");
            var pairs = info.SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
            Assert.True(pairs.ContainsKey("redis_version"), string.Join(", ", pairs.Keys));
            Assert.Equal(Version.Parse(pairs["redis_version"]), server.Version);

            var time = await server.TimeAsync();
            Assert.True((time - DateTime.UtcNow).Duration() < TimeSpan.FromMinutes(5), $"TIME says {time:O}");
            Assert.True(problems.IsEmpty, string.Join("\n", problems) + "\n" + log);
        }
    }

    [Fact]
    public async Task Subscribe_succeeds_and_commands_keep_working()
    {
        var (muxer, problems, log) = await ConnectWatchedAsync(null);
        await using (muxer)
        {
            var subscriber = muxer.GetSubscriber();
            var channel = RedisChannel.Literal("stream:" + Unique("sub"));
            var queue = await subscriber.SubscribeAsync(channel);
            Assert.True(subscriber.IsConnected(channel), $"subscriber not connected: {muxer.GetStatus()}\n{log}");
            Assert.Equal(channel, queue.Channel);

            var db = muxer.GetDatabase();
            string stream = Unique("after-sub");
            Assert.Single(await db.EventsAsync("ADD", stream, "any", "T", "x"));
            await db.PingAsync();
            Assert.Equal(1, Assert.Single(await db.EventsAsync("ADD", stream, "any", "T", "y")).Version);
            Assert.True(subscriber.IsConnected(channel));
            Assert.True(problems.IsEmpty, string.Join("\n", problems) + "\n" + log);
        }
    }

    [Fact]
    public async Task Server_errors_surface_as_exceptions_without_breaking_the_connection()
    {
        var (muxer, problems, log) = await ConnectWatchedAsync(null);
        await using (muxer)
        {
            var db = muxer.GetDatabase();
            string stream = Unique("se-err");
            await db.EventsAsync("ADD", stream, "any", "T", "x");
            var e = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("ADD", stream, "5", "T", "x"));
            Assert.StartsWith("WRONGVERSION", e.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("NOSUCHCOMMAND"));
            Assert.Equal(1, Assert.Single(await db.EventsAsync("ADD", stream, "1", "T", "y")).Version);
            Assert.True(muxer.IsConnected);
            Assert.True(problems.IsEmpty, string.Join("\n", problems) + "\n" + log);
        }
    }

    [Fact]
    public async Task Many_concurrent_commands_on_one_multiplexer()
    {
        var db = Db;
        string stream = Unique("se-many");
        var tasks = Enumerable.Range(0, 200).Select(i => db.EventsAsync("ADD", stream, "any", "T", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var results = await Task.WhenAll(tasks);
        var versions = results.Select(r => Assert.Single(r).Version).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), versions);
        var read = await db.EventsAsync("GET", stream);
        EventAssert.WholeStream(read, stream);
        Assert.Equal(results.Select(r => r[0]).OrderBy(e => e.Version).Select(e => e.Raw), read.Select(e => e.Raw));
    }
}
