using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>Lifecycle commands over a raw connection, for the lifecycle tests.</summary>
internal static class LifecycleClient
{
    /// <summary>Sends a command whose reply must be +OK.</summary>
    public static async Task OkAsync(this RespConnection c, params string[] args)
    {
        var reply = await c.CommandAsync(args);
        Assert.True(reply.Type == RespType.SimpleString && reply.Text == "OK", $"{string.Join(' ', args)}: {RespText.Describe(reply)}");
    }

    /// <summary>True for a nil reply (RESP2 or RESP3).</summary>
    public static bool IsNil(RespValue reply) => reply.Type == RespType.Null || (reply.Type == RespType.BulkString && reply.Bytes is null);

    /// <summary>STREAMMETA of a stream, parsed.</summary>
    public static async Task<JsonElement> MetaAsync(this RespConnection c, string stream)
    {
        var reply = await c.CommandAsync("STREAMMETA", stream);
        using var doc = JsonDocument.Parse(reply.Str());
        return doc.RootElement.Clone();
    }

    /// <summary>ADD of <paramref name="count"/> events of type T with data {"n":i}; returns them.</summary>
    public static Task<List<StoredEvent>> AddAsync(this RespConnection c, string stream, int count, string version = "any")
    {
        var args = new List<string> { "ADD", stream, version };
        for (int i = 0; i < count; i++)
        {
            args.AddRange(["T", $$"""{"n":{{i}}}"""]);
        }

        return c.EventsAsync([.. args]);
    }

    /// <summary>The versions GET returns for the stream (from 0, default page).</summary>
    public static async Task<List<long>> VersionsAsync(this RespConnection c, string stream, params string[] more) =>
        [.. (await c.EventsAsync(["GET", stream, .. more])).Select(e => e.Version)];

    /// <summary>The ids of events of <paramref name="stream"/> in the whole log (GETALL pages).</summary>
    public static async Task<List<long>> LogVersionsAsync(this RespConnection c, string stream) =>
        [.. (await c.ReadWholeLogAsync()).Where(e => e.Stream == stream).Select(e => e.Version)];

    /// <summary>Streams LISTSTREAMS lists, as name → the row.</summary>
    public static async Task<Dictionary<string, JsonElement>> StreamsAsync(this RespConnection c)
    {
        var rows = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (string row in (await c.CommandAsync("LISTSTREAMS", "0", "10000")).Strings())
        {
            using var doc = JsonDocument.Parse(row);
            rows[doc.RootElement.GetProperty("stream").GetString()!] = doc.RootElement.Clone();
        }

        return rows;
    }
}
