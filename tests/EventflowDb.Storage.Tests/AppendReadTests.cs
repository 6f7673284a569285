using System.Text;
using System.Text.Json;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

public sealed class AppendReadTests
{
    [Fact]
    public async Task Round_trip_keeps_data_and_metadata_byte_exact_and_renders_the_documented_json()
    {
        await using var t = await TestStore.CreateAsync();
        var causation = Ulid.NewUlid();
        var events = new[]
        {
            TestStore.Event("Opened", "{\"a\":1,\"nested\":[1,2,{\"b\":null}]}", "m-1", "{\"m\":1}"),
            TestStore.Event("Named", "\"just a \\\"string\\\"\""),
            new NewEvent { Type = "Typed \"quoted\"\n", Data = "[1, 2 ,3]"u8.ToArray(), CausationId = causation },
        };
        var result = await t.AppendAsync("account-1", ExpectedVersion.NoStream, events);
        Assert.Equal(AppendStatus.Appended, result.Status);
        Assert.Equal(0, result.StreamCount);

        var page = new EventPage();
        Assert.Equal(3, await t.Store.ReadStreamAsync("account-1"u8.ToArray(), 0, 10, page));
        var raw = TestStore.Raw(page);
        Assert.Equal(result.Events.Select(e => Encoding.UTF8.GetString(e.Span)), raw);

        // Exact field order and shape of the first event.
        var first = JsonDocument.Parse(raw[0]).RootElement;
        string id = first.GetProperty("id").GetString()!;
        string addedAt = first.GetProperty("added_at").GetString()!;
        Assert.Equal(
            $"{{\"id\":\"{id}\",\"position\":0,\"stream\":\"account-1\",\"version\":0,\"type\":\"Opened\",\"data\":{{\"a\":1,\"nested\":[1,2,{{\"b\":null}}]}},\"metadata\":{{\"m\":1}},\"causation_id\":\"{id}\",\"correlation_id\":\"{id}\",\"message_id\":\"m-1\",\"added_at\":\"{addedAt}\"}}",
            raw[0]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", addedAt);
        Assert.Equal(Ulid.Parse(id).ToString(), id);

        // A JSON string stays a string, byte for byte; no metadata / message id when absent.
        var second = JsonDocument.Parse(raw[1]).RootElement;
        Assert.Equal(JsonValueKind.String, second.GetProperty("data").ValueKind);
        Assert.Contains(",\"data\":\"just a \\\"string\\\"\",", raw[1], StringComparison.Ordinal);
        Assert.False(second.TryGetProperty("metadata", out _));
        Assert.False(second.TryGetProperty("message_id", out _));
        Assert.Equal(addedAt, second.GetProperty("added_at").GetString());

        // Escaped type, array data kept as given, causation given / correlation defaulted to it.
        var third = JsonDocument.Parse(raw[2]).RootElement;
        Assert.Equal("Typed \"quoted\"\n", third.GetProperty("type").GetString());
        Assert.Contains(",\"data\":[1, 2 ,3],", raw[2], StringComparison.Ordinal);
        Assert.Equal(causation.ToString(), third.GetProperty("causation_id").GetString());
        Assert.Equal(causation.ToString(), third.GetProperty("correlation_id").GetString());
        Assert.Equal(2, third.GetProperty("position").GetInt64());
        Assert.Equal(2, third.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Every_window_of_a_stream_of_mixed_batches_reads_back_exactly_its_events()
    {
        // Stream reads take whole entries (one ADD each) at a time; windows starting and ending inside
        // batches, entries interleaved with other streams, and an entry too large to be read whole.
        await using var t = await TestStore.CreateAsync();
        var expected = new List<string>();
        int n = 0;
        foreach (int size in new[] { 1, 3, 5, 2, 7, 1, 4 })
        {
            var batch = Enumerable.Range(0, size).Select(_ => TestStore.Event("E", $"{{\"n\":{n++}}}")).ToArray();
            var result = await t.AppendAsync("mix", ExpectedVersion.Any, batch);
            expected.AddRange(result.Events.Select(e => Encoding.UTF8.GetString(e.Span)));
            await t.AppendAsync("other", ExpectedVersion.Any, TestStore.Event());
        }

        string big = "\"" + new string('x', 20_000) + "\"";
        var large = await t.AppendAsync("mix", ExpectedVersion.Any, TestStore.Event("Big", big), TestStore.Event("Big", big));
        expected.AddRange(large.Events.Select(e => Encoding.UTF8.GetString(e.Span)));
        expected.AddRange((await t.AppendAsync("mix", ExpectedVersion.Any, TestStore.Event("E", "{\"last\":true}"), TestStore.Event("E", "2"))).Events.Select(e => Encoding.UTF8.GetString(e.Span)));

        var page = new EventPage();
        for (int from = 0; from <= expected.Count; from++)
        {
            for (int limit = 1; limit <= expected.Count - from + 1; limit++)
            {
                int read = await t.Store.ReadStreamAsync("mix"u8.ToArray(), from, limit, page);
                Assert.Equal(expected.Skip(from).Take(limit), TestStore.Raw(page));
                Assert.Equal(Math.Min(limit, expected.Count - from), read);
            }
        }
    }

    [Fact]
    public async Task Ids_increase_and_positions_are_gap_free_across_streams()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 50; i++)
        {
            await t.AppendAsync($"s-{i % 7}", ExpectedVersion.Any, TestStore.Event(), TestStore.Event());
        }

        var all = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(100, all.Count);
        for (int i = 0; i < all.Count; i++)
        {
            Assert.Equal(i, all[i].GetProperty("position").GetInt64());
            if (i > 0)
            {
                Assert.True(string.CompareOrdinal(all[i - 1].GetProperty("id").GetString(), all[i].GetProperty("id").GetString()) < 0);
            }
        }

        var s3 = await t.ReadStreamAsync("s-3");
        Assert.Equal(Enumerable.Range(0, s3.Count).Select(v => (long)v), s3.Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal(100, t.Store.EventCount);
        Assert.Equal(7, t.Store.StreamCount);
    }

    [Fact]
    public async Task Read_stream_pages_by_version_and_limit_and_unknown_streams_are_empty()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 10; i++)
        {
            await t.AppendAsync("s", ExpectedVersion.Exact(i), TestStore.Event(data: i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var page = await t.ReadStreamAsync("s", 3, 4);
        Assert.Equal([3L, 4, 5, 6], page.Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal([3, 4, 5, 6], page.Select(e => e.GetProperty("data").GetInt32()));
        Assert.Empty(await t.ReadStreamAsync("s", 10));
        Assert.Empty(await t.ReadStreamAsync("nope"));
        Assert.Equal(2, (await t.ReadStreamAsync("s", 8, 100)).Count);
    }

    [Fact]
    public async Task Multi_event_add_is_one_atomic_unit_with_one_timestamp()
    {
        await using var t = await TestStore.CreateAsync();
        var events = Enumerable.Range(0, 200).Select(i => TestStore.Event(data: $"{{\"i\":{i}}}")).ToArray();
        var result = await t.AppendAsync("batch", ExpectedVersion.NoStream, events);
        Assert.Equal(200, result.Events.Count);
        var stored = await t.ReadStreamAsync("batch");
        Assert.Equal(200, stored.Count);
        Assert.Single(stored.Select(e => e.GetProperty("added_at").GetString()).Distinct());
        Assert.Equal(Enumerable.Range(0, 200), stored.Select(e => e.GetProperty("data").GetProperty("i").GetInt32()));
        var ids = stored.Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public async Task Many_appends_cross_pages_and_segments_and_read_back_after_reopen()
    {
        // 64 KiB pages, 1 MiB segments: ~3 MiB of events crosses many pages and three segments.
        await using var t = await TestStore.CreateAsync();
        string payload = "\"" + new string('x', 1500) + "\"";
        var tasks = new List<Task<AppendResult>>();
        for (int i = 0; i < 2000; i++)
        {
            tasks.Add(t.AppendAsync($"big-{i % 10}", ExpectedVersion.Any, TestStore.Event(data: payload)));
        }

        await Task.WhenAll(tasks);
        Assert.True(File.Exists(t.LogSegment(2)));
        var before = t.Store.Checksum;
        await t.ReopenAsync();
        Assert.Equal(before, t.Store.Checksum);
        var all = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(2000, all.Count);
        Assert.Equal(200, (await t.ReadStreamAsync("big-7")).Count);
    }
}
