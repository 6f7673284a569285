using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Groups;

/// <summary>GROUP commands over a raw connection, for the consumer group tests.</summary>
internal static class GroupClient
{
    /// <summary>A stream name whose category (the part before the first '-') nobody else uses.</summary>
    public static string UniqueCategory() => $"c{Guid.NewGuid():N}";

    /// <summary>Adds one event of type <paramref name="type"/> to <paramref name="stream"/>.</summary>
    public static async Task<StoredEvent> AddAsync(this RespConnection c, string stream, string type = "T") =>
        Assert.Single(await c.EventsAsync("ADD", stream, "any", type, """{"n":1}"""));

    public static async Task CreateGroupAsync(this RespConnection c, params string[] args)
    {
        var reply = await c.CommandAsync(["GROUP", "CREATE", .. args]);
        Assert.Equal("OK", reply.Str());
    }

    public static Task<List<StoredEvent>> GroupReadAsync(this RespConnection c, string group, string consumer, params string[] options) =>
        c.EventsAsync(["GROUP", "READ", group, consumer, .. options]);

    public static async Task<long> GroupAckAsync(this RespConnection c, string group, params string[] ids) =>
        (await c.CommandAsync(["GROUP", "ACK", group, .. ids])).Int();

    /// <summary>GROUP INFO of one group, as field name → reply value.</summary>
    public static async Task<Dictionary<string, RespValue>> GroupInfoAsync(this RespConnection c, string group)
    {
        var reply = await c.CommandAsync("GROUP", "INFO", group);
        Assert.False(reply.IsError(), RespText.Describe(reply));
        return Fields(Assert.Single(reply.Items));
    }

    public static Dictionary<string, RespValue> Fields(RespValue map)
    {
        var fields = new Dictionary<string, RespValue>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < map.Items.Count; i += 2)
        {
            fields[map.Items[i].Str()] = map.Items[i + 1];
        }

        return fields;
    }

    /// <summary>Polls GROUP INFO until <paramref name="field"/> equals <paramref name="expected"/> (fails after 30 s).</summary>
    public static async Task WaitForInfoAsync(this RespConnection c, string group, string field, long expected)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await c.GroupInfoAsync(group))[field].Int() != expected)
        {
            await Task.Delay(20, limit.Token);
        }
    }

    public static List<string> Ids(this IEnumerable<StoredEvent> events) => [.. events.Select(e => e.Id)];
}
