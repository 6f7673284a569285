using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Commands;

/// <summary>ADD and GET through StackExchange.Redis, in both argument forms.</summary>
public sealed class AddAndGetTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    [Fact]
    public async Task Positional_add_of_one_event_returns_the_full_event()
    {
        string stream = Unique("order");
        var events = await Db.EventsAsync("ADD", stream, "any", "OrderPlaced", """{"a":1,"b":[true,null,"x"]}""");

        var e = Assert.Single(events);
        Assert.Equal(stream, e.Stream);
        Assert.Equal(0, e.Version);
        Assert.Equal("OrderPlaced", e.Type);
        Assert.Equal("""{"a":1,"b":[true,null,"x"]}""", e.Data.GetRawText());
        Assert.Null(e.Metadata);
        Assert.Null(e.MessageId);
        EventAssert.DefaultCausation(e);
        EventAssert.AddedRecently(e);

        var read = await Db.StringsAsync("GET", stream);
        Assert.Equal([e.Raw], read);
    }

    [Fact]
    public async Task Positional_data_that_is_not_an_object_or_array_is_stored_as_a_string()
    {
        string stream = Unique("strings");
        string[] values = ["42", "hello", "true", "null", "3.5", "\"quoted\"", "héllo ✓ 日本", "line1\nline2\t\"q\"\\", "{not json", "[1,2"];
        var args = new List<object> { stream, "no_stream" };
        foreach (var v in values)
        {
            args.Add("T");
            args.Add(v);
        }

        var events = await Db.EventsAsync("ADD", [.. args]);
        Assert.Equal(values.Length, events.Count);
        EventAssert.OneAdd(events, stream, 0);
        for (int i = 0; i < values.Length; i++)
        {
            EventAssert.JsonString(values[i], events[i].Data);
        }

        var read = await Db.StringsAsync("GET", stream);
        Assert.Equal(events.Select(e => e.Raw), read);
    }

    [Fact]
    public async Task Positional_data_that_is_an_object_or_array_is_stored_as_that_value()
    {
        string stream = Unique("values");
        string[] values = ["{}", "[]", """{"a":1}""", """[1,"two",{"three":3.25}]""", """{"nested":{"deep":[null,false,-1e3,"é\u00e9\n"]}}""", "{ \"spaced\" : [ 1 , 2 ] }"];
        var args = new List<object> { stream, "any" };
        foreach (var v in values)
        {
            args.Add("T");
            args.Add(v);
        }

        var events = await Db.EventsAsync("ADD", [.. args]);
        Assert.Equal(values.Length, events.Count);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(events[i].Data.ValueKind is JsonValueKind.Object or JsonValueKind.Array, $"data {values[i]} came back as {events[i].Data.GetRawText()}");
            EventAssert.JsonEqual(values[i], events[i].Data);
        }

        // Compact input comes back byte for byte.
        Assert.Equal("""{"a":1}""", events[2].Data.GetRawText());
        Assert.Equal("""[1,"two",{"three":3.25}]""", events[3].Data.GetRawText());
    }

    [Fact]
    public async Task Positional_batch_gets_consecutive_versions_positions_and_one_added_at()
    {
        string stream = Unique("batch");
        var first = await Db.EventsAsync("ADD", stream, "no_stream", "A", "1", "B", """{"b":2}""", "C", "[3]");
        Assert.Equal(["A", "B", "C"], first.Select(e => e.Type));
        EventAssert.OneAdd(first, stream, 0);
        foreach (var e in first)
        {
            EventAssert.DefaultCausation(e);
        }

        var second = await Db.EventsAsync("ADD", stream, "3", "D", "4");
        EventAssert.OneAdd(second, stream, 3);
        Assert.True(second[0].Position > first[^1].Position);
        Assert.True(string.CompareOrdinal(second[0].Id, first[^1].Id) > 0);

        var all = await Db.StringsAsync("GET", stream);
        Assert.Equal(first.Concat(second).Select(e => e.Raw), all);
    }

    [Fact]
    public async Task Json_form_add_stores_metadata_message_id_and_any_data()
    {
        string stream = Unique("json");
        string request = $$$"""
            {"stream":"{{{stream}}}","version":0,"events":[
              {"type":"T","data":{"a":1},"metadata":"m","message_id":"x"},
              {"type":"U","data":"just a string","metadata":{"k":[1,2]}},
              {"type":"V","data":[1,2,3]}]}
            """;
        var events = await Db.EventsAsync("ADD", request);

        Assert.Equal(3, events.Count);
        EventAssert.OneAdd(events, stream, 0);
        EventAssert.JsonEqual("""{"a":1}""", events[0].Data);
        EventAssert.JsonString("m", events[0].Metadata!.Value);
        Assert.Equal("x", events[0].MessageId);
        EventAssert.JsonString("just a string", events[1].Data);
        EventAssert.JsonEqual("""{"k":[1,2]}""", events[1].Metadata!.Value);
        Assert.Null(events[1].MessageId);
        EventAssert.JsonEqual("[1,2,3]", events[2].Data);
        Assert.Null(events[2].Metadata);
        foreach (var e in events)
        {
            EventAssert.DefaultCausation(e);
        }

        Assert.Equal(events.Select(e => e.Raw), await Db.StringsAsync("GET", stream));
    }

    [Fact]
    public async Task Json_form_data_is_returned_byte_for_byte()
    {
        string stream = Unique("exact");
        const string data = """{"z":1,"a":[1.50,"\u00e9"],"n":null}""";
        string request = $$"""{"stream":"{{stream}}","events":[{"type":"T","data":{{data}}}]}""";
        var e = Assert.Single(await Db.EventsAsync("ADD", request));
        EventAssert.JsonEqual(data, e.Data);
        Assert.Equal(data, e.Data.GetRawText());
    }

    [Fact]
    public async Task Json_form_keeps_given_causation_and_correlation_ids()
    {
        string stream = Unique("causation");
        const string cause = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        const string correlation = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
        string request = Json(new
        {
            stream,
            events = new object[]
            {
                new { type = "Both", data = "d", causation_id = cause, correlation_id = correlation },
                new { type = "CauseOnly", data = "d", causation_id = cause },
                new { type = "Neither", data = "d" },
            },
        });
        var events = await Db.EventsAsync("ADD", request);

        Assert.Equal(cause, events[0].CausationId);
        Assert.Equal(correlation, events[0].CorrelationId);
        Assert.Equal(cause, events[1].CausationId);
        Assert.Equal(cause, events[1].CorrelationId);
        EventAssert.DefaultCausation(events[2]);
    }

    [Fact]
    public async Task Expected_versions_any_no_stream_exists_and_exact()
    {
        string stream = Unique("versions");

        Assert.StartsWith("WRONGVERSION given version leaves gap in stream", await Db.ErrorAsync("ADD", stream, "exists", "T", "x"));
        Assert.Single(await Db.EventsAsync("ADD", stream, "no_stream", "T", "x"));
        Assert.StartsWith("WRONGVERSION concurrent stream modification", await Db.ErrorAsync("ADD", stream, "no_stream", "T", "x"));
        Assert.Equal(1, Assert.Single(await Db.EventsAsync("ADD", stream, "exists", "T", "x")).Version);
        Assert.Equal(2, Assert.Single(await Db.EventsAsync("ADD", stream, "any", "T", "x")).Version);
        Assert.Equal(3, Assert.Single(await Db.EventsAsync("ADD", stream, "3", "T", "x")).Version);

        // The stream holds 4 events now.
        Assert.Equal(
            "WRONGVERSION concurrent stream modification (expected 2, stream is at 4)",
            await Db.ErrorAsync("ADD", stream, "2", "T", "x"));
        Assert.Equal(
            "WRONGVERSION concurrent stream modification (expected 0, stream is at 4)",
            await Db.ErrorAsync("ADD", stream, "0", "T", "x"));
        Assert.Equal(
            "WRONGVERSION given version leaves gap in stream (expected 9, stream is at 4)",
            await Db.ErrorAsync("ADD", stream, "9", "T", "x"));
        Assert.Equal(
            "WRONGVERSION given version leaves gap in stream (expected 5, stream is at 4)",
            await Db.ErrorAsync("ADD", stream, "5", "T", "x"));

        string fresh = Unique("versions-new");
        Assert.Equal(
            "WRONGVERSION given version leaves gap in stream (expected 1, stream is at 0)",
            await Db.ErrorAsync("ADD", fresh, "1", "T", "x"));
        Assert.Equal(0, Assert.Single(await Db.EventsAsync("ADD", fresh, "0", "T", "x")).Version);

        Assert.Equal(4, (await Db.StringsAsync("GET", stream)).Count);
    }

    [Fact]
    public async Task Json_form_expected_versions()
    {
        string stream = Unique("jsonversions");
        string Req(object? version) => version is null
            ? Json(new { stream, events = new[] { new { type = "T", data = "x" } } })
            : Json(new { stream, version, events = new[] { new { type = "T", data = "x" } } });

        Assert.StartsWith("WRONGVERSION given version leaves gap", await Db.ErrorAsync("ADD", Req("exists")));
        Assert.Equal(0, Assert.Single(await Db.EventsAsync("ADD", Req("no_stream"))).Version);
        Assert.Equal(1, Assert.Single(await Db.EventsAsync("ADD", Req(null))).Version);
        Assert.Equal(2, Assert.Single(await Db.EventsAsync("ADD", Req("any"))).Version);
        Assert.Equal(3, Assert.Single(await Db.EventsAsync("ADD", Req("exists"))).Version);
        Assert.Equal(4, Assert.Single(await Db.EventsAsync("ADD", Req(4))).Version);
        Assert.StartsWith("WRONGVERSION concurrent stream modification", await Db.ErrorAsync("ADD", Req("no_stream")));
        Assert.Equal("WRONGVERSION concurrent stream modification (expected 3, stream is at 5)", await Db.ErrorAsync("ADD", Req(3)));
        Assert.Equal("WRONGVERSION given version leaves gap in stream (expected 6, stream is at 5)", await Db.ErrorAsync("ADD", Req(6)));
    }

    [Fact]
    public async Task Get_by_version_and_limit_in_both_forms()
    {
        string stream = Unique("get");
        var args = new List<object> { stream, "no_stream" };
        for (int i = 0; i < 25; i++)
        {
            args.Add("T" + i);
            args.Add(Json(new { i }));
        }

        var added = await Db.EventsAsync("ADD", [.. args]);
        Assert.Equal(25, added.Count);

        Assert.Equal(added.Select(e => e.Raw), await Db.StringsAsync("GET", stream));
        Assert.Equal(added.Skip(10).Select(e => e.Raw), await Db.StringsAsync("GET", stream, "10"));
        Assert.Equal(added.Skip(1).Take(2).Select(e => e.Raw), await Db.StringsAsync("GET", stream, "1", "2"));
        Assert.Equal(added.Skip(20).Select(e => e.Raw), await Db.StringsAsync("GET", stream, "20", "10"));
        Assert.Equal(added.Select(e => e.Raw), await Db.StringsAsync("GET", stream, "0", "0"));
        Assert.Empty(await Db.StringsAsync("GET", stream, "25"));
        Assert.Empty(await Db.StringsAsync("GET", stream, "1000", "5"));
        Assert.Empty(await Db.StringsAsync("GET", Unique("never-written")));

        Assert.Equal(added.Skip(3).Take(4).Select(e => e.Raw), await Db.StringsAsync("GET", Json(new { stream, version = 3, limit = 4 })));
        Assert.Equal(added.Select(e => e.Raw), await Db.StringsAsync("GET", Json(new { stream })));
        Assert.Equal(added.Skip(24).Select(e => e.Raw), await Db.StringsAsync("GET", Json(new { stream, version = 24 })));
        Assert.Empty(await Db.StringsAsync("GET", Json(new { stream = Unique("never-written") })));
    }

    [Fact]
    public async Task Command_names_are_case_insensitive()
    {
        string stream = Unique("case");
        var e = Assert.Single(await Db.EventsAsync("add", stream, "any", "T", "x"));
        Assert.Equal([e.Raw], await Db.StringsAsync("gEt", stream));
        Assert.True(await Db.LongAsync("eventcount") >= 1);
    }

    [Fact]
    public async Task Counts_checksum_and_dbsize_follow_adds()
    {
        var before = await StoreState.ReadAsync(Db);
        Assert.True(StoredEvent.IsUlid(before.LastId), $"CHECKSUM last id '{before.LastId}' is not a ULID");
        Assert.Matches("^[0-9a-f]{16}$", before.Checksum);

        string stream = Unique("counts");
        var added = await Db.EventsAsync("ADD", stream, "no_stream", "A", "1", "B", "2");
        var after = await StoreState.ReadAsync(Db);
        Assert.Equal(before.Events + 2, after.Events);
        Assert.Equal(before.Streams + 1, after.Streams);
        Assert.Equal(added[^1].Id, after.LastId);
        Assert.Matches("^[0-9a-f]{16}$", after.Checksum);
        Assert.NotEqual(before.Checksum, after.Checksum);
        Assert.Equal(after.Streams, await Db.LongAsync("DBSIZE"));

        await Db.EventsAsync("ADD", stream, "2", "C", "3");
        var third = await StoreState.ReadAsync(Db);
        Assert.Equal(after.Events + 1, third.Events);
        Assert.Equal(after.Streams, third.Streams);
        Assert.NotEqual(after.Checksum, third.Checksum);

        // Reading does not change anything.
        await Db.StringsAsync("GET", stream);
        await Db.StringsAsync("GETALL");
        Assert.Equal(third, await StoreState.ReadAsync(Db));
    }

    [Fact]
    public async Task GetAll_and_estimates_in_both_forms()
    {
        string stream = Unique("getall");
        var added = await Db.EventsAsync("ADD", stream, "any", "A", "1", "B", "2", "C", "3");
        var log = await Db.EventsAsync("GETALL", "0", "10000");
        int index = log.FindIndex(e => e.Id == added[0].Id);
        Assert.True(index >= 0, "the first added event is not in GETALL");
        string before = index == 0 ? StoredEvent.ZeroUlid : log[index - 1].Id;

        Assert.Equal(added.Select(e => e.Raw), await Db.StringsAsync("GETALL", before, "3"));
        Assert.Equal(added.Take(2).Select(e => e.Raw), await Db.StringsAsync("GETALL", Json(new { offset = before, limit = 2 })));
        Assert.Equal(added.Skip(1).Select(e => e.Raw), (await Db.StringsAsync("GETALL", Json(new { offset = added[0].Id, limit = 10 }))).Take(2));

        long events = await Db.LongAsync("EVENTCOUNT");
        long streams = await Db.LongAsync("STREAMCOUNT");
        Assert.InRange(await Db.LongAsync("EVENTCOUNTEST"), 0, events);
        Assert.InRange(await Db.LongAsync("STREAMCOUNTEST"), 0, streams);
    }

    [Fact]
    public async Task Version_uptime_size_and_ping()
    {
        Assert.Equal("0.1.0", (string?)await Db.ExecuteAsync("VERSION"));
        Assert.Equal("PONG", (string?)await Db.ExecuteAsync("PING"));
        Assert.Equal("hi there", (string?)await Db.ExecuteAsync("PING", "hi there"));

        var uptime1 = (StackExchange.Redis.RedisResult[])(await Db.ExecuteAsync("UPTIME"))!;
        Assert.Equal(2, uptime1.Length);
        long ms1 = (long)uptime1[0];
        Assert.True(ms1 >= 0, $"uptime {ms1}");
        Assert.False(string.IsNullOrWhiteSpace((string?)uptime1[1]));
        await Task.Delay(20);
        long ms2 = (long)((StackExchange.Redis.RedisResult[])(await Db.ExecuteAsync("UPTIME"))!)[0];
        Assert.True(ms2 > ms1, $"uptime went from {ms1} to {ms2} ms");

        string stream = Unique("size");
        await Db.EventsAsync("ADD", stream, "any", "T", new string('x', 1000));
        await Task.Delay(1500); // SIZE may be measured at most once a second
        var size = (StackExchange.Redis.RedisResult[])(await Db.ExecuteAsync("SIZE"))!;
        Assert.Equal(2, size.Length);
        Assert.True((long)size[0] > 1000, $"SIZE says {(long)size[0]} bytes after writing a 1000-byte event");
        Assert.Matches(@"^\d+(\.\d+)? ?([KMGT]i?)?B$", (string?)size[1]);
    }

    [Fact]
    public async Task ListStreams_reports_version_count_and_first_and_last_write()
    {
        string stream = Unique("summary");
        var first = await Db.EventsAsync("ADD", stream, "any", "A", "1", "B", "2");
        await Task.Delay(5);
        var second = await Db.EventsAsync("ADD", stream, "any", "C", "3");

        var all = new List<string>();
        for (int skip = 0; ; skip += 100)
        {
            var page = await Db.StringsAsync("LISTSTREAMS", skip.ToString(System.Globalization.CultureInfo.InvariantCulture), "100");
            if (page.Count == 0)
            {
                break;
            }

            all.AddRange(page);
        }

        var mine = all.Select(s => JsonDocument.Parse(s).RootElement).Where(r => r.GetProperty("stream").GetString() == stream).ToList();
        var summary = Assert.Single(mine);
        Assert.Equal(["stream", "version", "events", "added_at", "updated_at"], summary.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, summary.GetProperty("version").GetInt64());
        Assert.Equal(3, summary.GetProperty("events").GetInt64());
        Assert.Equal(first[0].AddedAt, summary.GetProperty("added_at").GetString());
        Assert.Equal(second[0].AddedAt, summary.GetProperty("updated_at").GetString());
        Assert.Equal(await Db.LongAsync("STREAMCOUNT"), all.Count);
    }
}
