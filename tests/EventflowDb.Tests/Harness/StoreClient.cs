using System.Globalization;
using EventflowDb.Protocol;
using StackExchange.Redis;

namespace EventflowDb.Tests.Harness;

/// <summary>What must not change when a request is rejected: counts and the chained checksum.</summary>
public sealed record StoreState(long Events, long Streams, string LastId, string Checksum)
{
    /// <summary>Reads the state over a raw connection.</summary>
    public static async Task<StoreState> ReadAsync(RespConnection c)
    {
        long events = (await c.CommandAsync("EVENTCOUNT")).Int();
        long streams = (await c.CommandAsync("STREAMCOUNT")).Int();
        var checksum = (await c.CommandAsync("CHECKSUM")).Strings();
        Assert.Equal(2, checksum.Count);
        return new StoreState(events, streams, checksum[0], checksum[1]);
    }

    /// <summary>Reads the state through StackExchange.Redis.</summary>
    public static async Task<StoreState> ReadAsync(IDatabase db)
    {
        long events = (long)await db.ExecuteAsync("EVENTCOUNT");
        long streams = (long)await db.ExecuteAsync("STREAMCOUNT");
        var checksum = await db.StringsAsync("CHECKSUM");
        Assert.Equal(2, checksum.Count);
        return new StoreState(events, streams, checksum[0], checksum[1]);
    }
}

/// <summary>Store operations over a raw connection, for tests and verification.</summary>
public static class RawStore
{
    /// <summary>Sends a command whose reply must be an array of event JSON strings; fails on anything else.</summary>
    public static async Task<List<StoredEvent>> EventsAsync(this RespConnection c, params string[] args)
    {
        var reply = await c.CommandAsync(args);
        Assert.False(reply.IsError(), $"{string.Join(' ', args.Select(a => a.Length > 200 ? a[..200] + "..." : a))} failed: {RespText.Describe(reply)}");
        return StoredEvent.ParseAll(reply.Strings());
    }

    /// <summary>Sends a command that must fail; returns the error text.</summary>
    public static async Task<string> ErrorAsync(this RespConnection c, params string[] args)
    {
        var reply = await c.CommandAsync(args);
        Assert.True(reply.IsError(), $"expected an error reply to {string.Join(' ', args.Select(a => a.Length > 200 ? a[..200] + "..." : a))}, got {RespText.Describe(reply)}");
        return reply.Text!;
    }

    /// <summary>The whole log, walking GETALL pages of <paramref name="limit"/> (0: the server's default) by the last id of each page.</summary>
    public static async Task<List<StoredEvent>> ReadWholeLogAsync(this RespConnection c, int limit = 0)
    {
        var all = new List<StoredEvent>();
        string offset = "0";
        while (true)
        {
            var page = await c.EventsAsync("GETALL", offset, limit.ToString(CultureInfo.InvariantCulture));
            if (page.Count == 0)
            {
                return all;
            }

            if (all.Count > 0)
            {
                Assert.True(string.CompareOrdinal(page[0].Id, offset) > 0, $"GETALL {offset} returned an event at or before the offset: {page[0].Raw}");
            }

            all.AddRange(page);
            offset = page[^1].Id;
        }
    }

    /// <summary>The whole stream, walking GET pages by version.</summary>
    public static async Task<List<StoredEvent>> ReadWholeStreamAsync(this RespConnection c, string stream, int limit = 0)
    {
        var all = new List<StoredEvent>();
        while (true)
        {
            var page = await c.EventsAsync("GET", stream, all.Count.ToString(CultureInfo.InvariantCulture), limit.ToString(CultureInfo.InvariantCulture));
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
        }
    }

    /// <summary>All stream summaries, walking LISTSTREAMS pages.</summary>
    public static async Task<List<string>> ListAllStreamsAsync(this RespConnection c, int limit = 100)
    {
        var all = new List<string>();
        while (true)
        {
            var reply = await c.CommandAsync("LISTSTREAMS", all.Count.ToString(CultureInfo.InvariantCulture), limit.ToString(CultureInfo.InvariantCulture));
            Assert.False(reply.IsError(), $"LISTSTREAMS failed: {RespText.Describe(reply)}");
            var page = reply.Strings();
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
        }
    }
}

/// <summary>StackExchange.Redis helpers for EventflowDB commands.</summary>
public static class RedisStore
{
    /// <summary>Executes a command whose reply is an array of bulk strings.</summary>
    public static async Task<IReadOnlyList<string>> StringsAsync(this IDatabase db, string command, params object[] args)
    {
        var result = await db.ExecuteAsync(command, args);
        Assert.Equal(ResultType.Array, result.Resp2Type);
        return [.. ((RedisResult[])result!).Select(r => (string?)r ?? throw new InvalidOperationException($"{command}: null item in reply"))];
    }

    /// <summary>Executes a command whose reply is an array of event JSON strings.</summary>
    public static async Task<List<StoredEvent>> EventsAsync(this IDatabase db, string command, params object[] args) =>
        StoredEvent.ParseAll(await db.StringsAsync(command, args));

    /// <summary>Executes a command that must fail with a server error; returns the error text.</summary>
    public static async Task<string> ErrorAsync(this IDatabase db, string command, params object[] args)
    {
        var e = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync(command, args));
        return e.Message;
    }

    /// <summary>Executes a command with an integer reply.</summary>
    public static async Task<long> LongAsync(this IDatabase db, string command, params object[] args)
    {
        var result = await db.ExecuteAsync(command, args);
        Assert.Equal(ResultType.Integer, result.Resp2Type);
        return (long)result;
    }
}

/// <summary>Helpers for RESP types used in assertions.</summary>
public static class RespTypes
{
    /// <summary>Asserts the reply is <paramref name="type"/>.</summary>
    public static void Is(RespType type, RespValue value) =>
        Assert.True(value.Type == type, $"expected a {type} reply, got {RespText.Describe(value)}");
}
