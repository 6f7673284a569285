using System.Globalization;
using System.Text.Json;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

public sealed class ReadAllAndListTests
{
    [Fact]
    public async Task ReadAll_pages_by_after_id_including_ids_not_in_the_store()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 300; i++)
        {
            await t.AppendAsync($"s-{i % 5}", ExpectedVersion.Any, TestStore.Event(data: i.ToString(CultureInfo.InvariantCulture)));
        }

        // Paging with the last id of each page visits every event once, in order.
        var seen = new List<int>();
        var after = Ulid.Empty;
        while (true)
        {
            var page = await t.ReadAllAsync(after, 37);
            if (page.Count == 0)
            {
                break;
            }

            seen.AddRange(page.Select(e => e.GetProperty("data").GetInt32()));
            after = Ulid.Parse(page[^1].GetProperty("id").GetString());
        }

        Assert.Equal(Enumerable.Range(0, 300), seen);

        var all = await t.ReadAllAsync(Ulid.Empty);
        var id150 = Ulid.Parse(all[150].GetProperty("id").GetString());
        var rest = await t.ReadAllAsync(id150);
        Assert.Equal(149, rest.Count);
        Assert.Equal(151, rest[0].GetProperty("position").GetInt64());

        // An id between two stored ids (not stored itself): strictly after it means from the next event.
        var ids = all.Select(e => Ulid.Parse(e.GetProperty("id").GetString())).ToList();
        int gapAt = Enumerable.Range(0, ids.Count - 1).First(i => Increment(ids[i]) != ids[i + 1]);
        var between = Increment(ids[gapAt]);
        Assert.DoesNotContain(between, ids);
        Assert.Equal(gapAt + 1, (await t.ReadAllAsync(between, 1))[0].GetProperty("position").GetInt64());

        // Before everything, and after everything.
        Assert.Equal(300, (await t.ReadAllAsync(new Ulid(new byte[16] { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }))).Count);
        Assert.Empty(await t.ReadAllAsync(Ulid.NewUlid(DateTimeOffset.UtcNow.AddYears(10))));
    }

    private static Ulid Increment(Ulid id)
    {
        var bytes = id.ToByteArray();
        for (int i = 15; i >= 0 && ++bytes[i] == 0; i--)
        {
        }

        return new Ulid(bytes);
    }

    [Fact]
    public async Task ListStreams_pages_in_creation_order_with_summaries()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 25; i++)
        {
            await t.AppendAsync($"stream-{i:D2}", ExpectedVersion.NoStream, TestStore.Event());
        }

        await t.AppendAsync("stream-03", ExpectedVersion.Exact(1), TestStore.Event(), TestStore.Event());
        var page = new EventPage();
        var names = new List<string>();
        for (long skip = 0; ; skip += 10)
        {
            int n = t.Store.ListStreams(skip, 10, page);
            if (n == 0)
            {
                break;
            }

            names.AddRange(TestStore.Parse(page, n).Select(s => s.GetProperty("stream").GetString()!));
        }

        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"stream-{i:D2}"), names);
        t.Store.ListStreams(3, 1, page);
        var raw = TestStore.Raw(page)[0];
        var summary = JsonDocument.Parse(raw).RootElement;
        Assert.StartsWith("{\"stream\":\"stream-03\",\"version\":2,\"events\":3,\"added_at\":\"", raw, StringComparison.Ordinal);
        Assert.Equal(["stream", "version", "events", "added_at", "updated_at"], summary.EnumerateObject().Select(p => p.Name));
        var events = await t.ReadStreamAsync("stream-03");
        Assert.Equal(events[0].GetProperty("added_at").GetString(), summary.GetProperty("added_at").GetString());
        Assert.Equal(events[2].GetProperty("added_at").GetString(), summary.GetProperty("updated_at").GetString());
        Assert.Equal(0, t.Store.ListStreams(100, 10, page));
    }
}
