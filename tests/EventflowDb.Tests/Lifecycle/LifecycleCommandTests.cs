using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Subscriptions;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>DELETE, TRUNCATE, STREAMMETA, SNAPSHOT and FORGET over the wire: replies, errors, and what reads then return.</summary>
public sealed class LifecycleCommandTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    /// <summary>Expects an error starting with <paramref name="prefix"/>, with the store (counts, checksum, the stream's metadata) unchanged.</summary>
    private async Task<string> RejectedAsync(string stream, string prefix, params string[] args)
    {
        await using var c = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(c);
        string metaBefore = (await c.CommandAsync("STREAMMETA", stream)).Text ?? "nil";
        string error = await c.ErrorAsync(args);
        EventAssert.StartsWith(prefix, error);
        Assert.Equal(before, await StoreState.ReadAsync(c));
        Assert.Equal(metaBefore, (await c.CommandAsync("STREAMMETA", stream)).Text ?? "nil");
        return error;
    }

    [Fact]
    public async Task Concurrent_STREAMMETA_SETs_of_different_fields_both_hold()
    {
        string s = Unique("metarace");
        await using var a = await Server.OpenRawAsync();
        await using var b = await Server.OpenRawAsync();
        await a.AddAsync(s, 1);
        for (int i = 1; i <= 20; i++)
        {
            string n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Task.WhenAll(a.OkAsync("STREAMMETA", s, "SET", "maxCount", n), b.OkAsync("STREAMMETA", s, "SET", "maxAge", n + "000"));
            var meta = await a.MetaAsync(s);
            Assert.Equal((i, i * 1000L), (meta.GetProperty("maxCount").GetInt32(), meta.GetProperty("maxAge").GetInt64()));
        }
    }

    [Fact]
    public async Task Every_refused_command_names_its_error_and_changes_nothing()
    {
        string s = Unique("err");
        await using (var c = await Server.OpenRawAsync())
        {
            await c.AddAsync(s, 3);
        }

        string missing = Unique("missing");
        Assert.Equal("WRONGVERSION concurrent stream modification (expected 1, stream is at 3)", await RejectedAsync(s, "WRONGVERSION", "DELETE", s, "1"));
        Assert.Equal("WRONGVERSION given version leaves gap in stream (expected 5, stream is at 3)", await RejectedAsync(s, "WRONGVERSION", "DELETE", s, "5"));
        await RejectedAsync(s, "INVALID", "DELETE", s, "-1");
        await RejectedAsync(s, "ERR", "DELETE", s, "x");
        await RejectedAsync(s, "ERR", "DELETE");
        await RejectedAsync(s, "ERR", "DELETE", s, "3", "extra");
        Assert.Equal("INVALID stream does not exist", await RejectedAsync(missing, "INVALID", "DELETE", missing));
        await RejectedAsync(s, "INVALID stream cannot be all zeroes", "DELETE", "00000000-0000-0000-0000-000000000000");

        Assert.Equal("INVALID version 4 is beyond the stream's 3 events", await RejectedAsync(s, "INVALID", "TRUNCATE", s, "4"));
        await RejectedAsync(s, "INVALID", "TRUNCATE", s, "-1");
        await RejectedAsync(s, "ERR", "TRUNCATE", s, "two");
        await RejectedAsync(s, "ERR", "TRUNCATE", s);
        await RejectedAsync(missing, "INVALID stream does not exist", "TRUNCATE", missing, "0");

        await RejectedAsync(s, "INVALID unknown STREAMMETA field 'maxSize'", "STREAMMETA", s, "SET", "maxSize", "1");
        await RejectedAsync(s, "INVALID", "STREAMMETA", s, "SET", "maxCount", "-1");
        await RejectedAsync(s, "INVALID", "STREAMMETA", s, "SET", "maxCount", "1", "maxAge", "-5");
        await RejectedAsync(s, "ERR", "STREAMMETA", s, "SET", "maxCount");
        await RejectedAsync(s, "ERR", "STREAMMETA", s, "SET");
        await RejectedAsync(s, "ERR", "STREAMMETA", s, "GET", "maxCount", "1");
        await RejectedAsync(s, "ERR", "STREAMMETA", s, "SET", "maxCount", "many");
        await RejectedAsync(missing, "INVALID stream does not exist", "STREAMMETA", missing, "SET", "maxCount", "1");

        Assert.Equal("INVALID the stream holds no version 3 (it holds 3 events)", await RejectedAsync(s, "INVALID", "SNAPSHOT", "SAVE", s, "3", "{}"));
        await RejectedAsync(s, "INVALID", "SNAPSHOT", "SAVE", s, "-1", "{}");
        await RejectedAsync(s, "ERR", "SNAPSHOT", "SAVE", s, "0");
        await RejectedAsync(s, "ERR", "SNAPSHOT", "PUT", s, "0", "{}");
        await RejectedAsync(s, "ERR", "SNAPSHOT", "GET", s, "extra");
        await using (var raw = await Server.OpenRawAsync())
        {
            var notUtf8 = await raw.CommandRawAsync("SNAPSHOT"u8.ToArray(), "SAVE"u8.ToArray(), System.Text.Encoding.UTF8.GetBytes(s), "0"u8.ToArray(), [0xff, 0xfe]);
            Assert.Equal("INVALID data must be UTF-8 text or JSON", notUtf8.Value.Text);
        }

        await RejectedAsync(s, "TOOLARGE", "SNAPSHOT", "SAVE", s, "0", new string('x', 5 * 1024 * 1024));

        // Text escapes up to 6 times its size: 1 MiB of control characters is refused on its stored size, before the
        // escaped copy is made (not by the writer's limit after it).
        string escaped = await RejectedAsync(s, "TOOLARGE", "SNAPSHOT", "SAVE", s, "0", new string('\u0001', 1024 * 1024));
        EventAssert.StartsWith("TOOLARGE snapshot data is over the", escaped);
        await RejectedAsync(missing, "INVALID stream does not exist", "SNAPSHOT", "SAVE", missing, "0", "{}");

        await RejectedAsync(s, "ERR", "FORGET");
        await RejectedAsync(s, "ERR", "FORGET", s, "extra");
        await RejectedAsync(missing, "INVALID stream does not exist", "FORGET", missing);

        // COMPACT takes no argument.
        await RejectedAsync(s, "ERR", "COMPACT", "now");

        await using var d = await Server.OpenRawAsync();
        Assert.Equal([0L, 1L, 2L], await d.VersionsAsync(s));
        var meta = await d.MetaAsync(s);
        Assert.Equal(0, meta.GetProperty("maxCount").GetInt64());
        Assert.Equal(0, meta.GetProperty("truncated_before").GetInt64());
        Assert.True(LifecycleClient.IsNil(await d.CommandAsync("STREAMMETA", missing)));
        Assert.True(LifecycleClient.IsNil(await d.CommandAsync("SNAPSHOT", "GET", s)));
    }

    [Fact]
    public async Task Truncate_hides_older_versions_from_every_read_and_keeps_positions()
    {
        await using var c = await Server.OpenRawAsync();
        string s = Unique("trunc");
        string other = Unique("other");
        var written = await c.AddAsync(s, 5);
        await c.AddAsync(other, 1);
        var before = await StoreState.ReadAsync(c);

        await c.OkAsync("TRUNCATE", s, "2");
        Assert.Equal([2L, 3L, 4L], await c.VersionsAsync(s));
        Assert.Equal([2L, 3L], await c.VersionsAsync(s, "0", "2"));
        Assert.Equal([3L, 4L], await c.VersionsAsync(s, "3"));
        var log = (await c.ReadWholeLogAsync()).Where(e => e.Stream == s).ToList();
        Assert.Equal(written.Skip(2).Select(e => e.Raw), log.Select(e => e.Raw));

        var after = await StoreState.ReadAsync(c);
        Assert.Equal(before.Checksum, after.Checksum);
        Assert.Equal(before.LastId, after.LastId);
        Assert.Equal(before.Events - 2, after.Events);
        Assert.Equal(before.Streams, after.Streams);

        var row = (await c.StreamsAsync())[s];
        Assert.Equal(4, row.GetProperty("version").GetInt64());
        Assert.Equal(3, row.GetProperty("events").GetInt64());
        Assert.Equal(2, (await c.MetaAsync(s)).GetProperty("truncated_before").GetInt64());

        // A lower truncation point hides nothing more and unhides nothing; truncating to the end empties the stream.
        await c.OkAsync("TRUNCATE", s, "1");
        Assert.Equal([2L, 3L, 4L], await c.VersionsAsync(s));
        await c.OkAsync("TRUNCATE", s, "5");
        Assert.Empty(await c.VersionsAsync(s));
        Assert.True((await c.StreamsAsync()).ContainsKey(s));
        Assert.Equal(5, (await c.EventsAsync("ADD", s, "5", "T", "{}"))[0].Version);
        Assert.Equal([5L], await c.VersionsAsync(s));
    }

    [Fact]
    public async Task Delete_empties_the_stream_until_it_is_written_again_and_its_versions_continue()
    {
        await using var c = await Server.OpenRawAsync();
        string s = Unique("del");
        var first = await c.EventsAsync("ADD", $$"""{"stream":"{{s}}","version":"no_stream","events":[{"type":"A","data":{"a":1},"message_id":"m-1"},{"type":"B","data":{"b":2},"message_id":"m-2"}]}""");
        await c.AddAsync(s, 1);
        var before = await StoreState.ReadAsync(c);

        await c.OkAsync("DELETE", s, "3");
        Assert.Empty(await c.VersionsAsync(s));
        Assert.Empty(await c.LogVersionsAsync(s));
        Assert.False((await c.StreamsAsync()).ContainsKey(s));
        var deleted = await StoreState.ReadAsync(c);
        Assert.Equal((before.Events - 3, before.Streams - 1, before.Checksum), (deleted.Events, deleted.Streams, deleted.Checksum));
        var meta = await c.MetaAsync(s);
        Assert.True(meta.GetProperty("deleted").GetBoolean());
        Assert.Equal(3, meta.GetProperty("truncated_before").GetInt64());

        // A retried ADD whose message ids were deleted writes nothing and replies with the original events.
        var retried = await c.EventsAsync("ADD", $$"""{"stream":"{{s}}","version":0,"events":[{"type":"A","data":{"a":1},"message_id":"m-1"},{"type":"B","data":{"b":2},"message_id":"m-2"}]}""");
        Assert.Equal(first.Select(e => e.Raw), retried.Select(e => e.Raw));
        Assert.Equal(deleted, await StoreState.ReadAsync(c));

        // Written again: versions continue, the stream is listed and counted again.
        Assert.Equal("WRONGVERSION concurrent stream modification (expected 0, stream is at 3)", await c.ErrorAsync("ADD", s, "0", "T", "x"));
        var again = await c.EventsAsync("ADD", s, "3", "T", "x");
        Assert.Equal(3, again[0].Version);
        Assert.Equal([3L], await c.VersionsAsync(s));
        Assert.Equal([3L], await c.LogVersionsAsync(s));
        Assert.Equal(1, (await c.StreamsAsync())[s].GetProperty("events").GetInt64());
        Assert.False((await c.MetaAsync(s)).GetProperty("deleted").GetBoolean());
        var rewritten = await StoreState.ReadAsync(c);
        Assert.Equal((deleted.Events + 1, before.Streams), (rewritten.Events, rewritten.Streams));

        // DELETE without an expected version.
        await c.OkAsync("DELETE", s);
        Assert.Empty(await c.VersionsAsync(s));
    }

    [Fact]
    public async Task MaxCount_and_maxAge_hide_older_events()
    {
        await using var c = await Server.OpenRawAsync();
        string s = Unique("meta");
        await c.AddAsync(s, 5);
        long events = (await c.CommandAsync("EVENTCOUNT")).Int();

        await c.OkAsync("STREAMMETA", s, "SET", "maxCount", "2");
        Assert.Equal([3L, 4L], await c.VersionsAsync(s));
        Assert.Equal([3L, 4L], await c.LogVersionsAsync(s));
        Assert.Equal(events - 3, (await c.CommandAsync("EVENTCOUNT")).Int());
        await c.AddAsync(s, 1);
        Assert.Equal([4L, 5L], await c.VersionsAsync(s));
        Assert.Equal([4L, 5L], await c.LogVersionsAsync(s));
        var meta = await c.MetaAsync(s);
        Assert.Equal((2L, 0L), (meta.GetProperty("maxCount").GetInt64(), meta.GetProperty("maxAge").GetInt64()));

        // maxAge: a day hides nothing here; a field not given keeps its value.
        await c.OkAsync("STREAMMETA", s, "SET", "maxAge", "86400000");
        meta = await c.MetaAsync(s);
        Assert.Equal((2L, 86_400_000L), (meta.GetProperty("maxCount").GetInt64(), meta.GetProperty("maxAge").GetInt64()));
        Assert.Equal([4L, 5L], await c.VersionsAsync(s));

        // 1 ms, once more than 1 ms passed since the last ADD: everything is older.
        await Task.Delay(20);
        await c.OkAsync("STREAMMETA", s, "set", "MAXCOUNT", "0", "maxage", "1");
        Assert.Empty(await c.VersionsAsync(s));
        Assert.Empty(await c.LogVersionsAsync(s));

        // Newer events are returned; 0 turns the limits off again.
        var fresh = await c.AddAsync(s, 1);
        await c.OkAsync("STREAMMETA", s, "SET", "maxAge", "86400000");
        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L, 6L], await c.VersionsAsync(s));
        await c.OkAsync("STREAMMETA", s, "SET", "maxCount", "0", "maxAge", "0");
        Assert.Equal(7, (await c.VersionsAsync(s)).Count);
        Assert.Equal(6, fresh[0].Version);
    }

    [Fact]
    public async Task Forget_nulls_data_and_metadata_everywhere_and_keeps_the_checksum()
    {
        await using var c = await Server.OpenRawAsync();
        string s = Unique("forget");
        var written = await c.EventsAsync("ADD", $$$"""{"stream":"{{{s}}}","version":"any","events":[{"type":"Person","data":{"name":"Ada"},"metadata":{"ip":"10.0.0.1"}},{"type":"Mail","data":"ada@example.com","message_id":"mail-1"}]}""");
        await c.OkAsync("SNAPSHOT", "SAVE", s, "1", """{"name":"Ada"}""");
        var before = await StoreState.ReadAsync(c);

        await c.OkAsync("FORGET", s);
        var got = await c.EventsAsync("GET", s);
        Assert.Equal(2, got.Count);
        for (int i = 0; i < 2; i++)
        {
            var e = got[i];
            Assert.Equal((written[i].Id, written[i].Position, written[i].Version, written[i].Type, written[i].AddedAt), (e.Id, e.Position, e.Version, e.Type, e.AddedAt));
            Assert.Equal(System.Text.Json.JsonValueKind.Null, e.Data.ValueKind);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, e.Metadata!.Value.ValueKind);
            Assert.True(e.Root.GetProperty("forgotten").GetBoolean());
            Assert.DoesNotContain("Ada", e.Raw, StringComparison.Ordinal);
        }

        Assert.Equal("mail-1", got[1].MessageId);
        Assert.Equal(got.Select(e => e.Raw), (await c.ReadWholeLogAsync()).Where(e => e.Stream == s).Select(e => e.Raw));
        Assert.Equal(before, await StoreState.ReadAsync(c));
        Assert.True(LifecycleClient.IsNil(await c.CommandAsync("SNAPSHOT", "GET", s)));
        Assert.Equal(2, (await c.MetaAsync(s)).GetProperty("forgotten_before").GetInt64());

        // A retried ADD of a forgotten message id answers with the stored event as it reads now.
        var retried = await c.EventsAsync("ADD", $$"""{"stream":"{{s}}","version":"any","events":[{"type":"Mail","data":"ada@example.com","message_id":"mail-1"}]}""");
        Assert.Equal(written[1].Id, retried[0].Id);
        Assert.True(retried[0].Root.GetProperty("forgotten").GetBoolean());
        Assert.Equal(got[1].Raw, retried[0].Raw);

        // Events written after FORGET are not forgotten.
        var later = await c.EventsAsync("ADD", s, "any", "T", """{"kept":true}""");
        Assert.False(later[0].Root.TryGetProperty("forgotten", out _));
        Assert.True((await c.EventsAsync("GET", s, "2"))[0].Data.GetProperty("kept").GetBoolean());
    }

    [Fact]
    public async Task Snapshots_are_saved_read_overwritten_and_nil_when_missing()
    {
        await using var c = await Server.OpenRawAsync();
        string s = Unique("snap");
        Assert.True(LifecycleClient.IsNil(await c.CommandAsync("SNAPSHOT", "GET", s)));
        await c.AddAsync(s, 3);
        Assert.True(LifecycleClient.IsNil(await c.CommandAsync("SNAPSHOT", "GET", s)));
        var before = await StoreState.ReadAsync(c);

        await c.OkAsync("SNAPSHOT", "SAVE", s, "1", """{"total":1,"items":[1,2]}""");
        var snapshot = System.Text.Json.JsonDocument.Parse((await c.CommandAsync("SNAPSHOT", "GET", s)).Str()).RootElement;
        Assert.Equal(["stream", "version", "data", "added_at"], snapshot.EnumerateObject().Select(p => p.Name));
        Assert.Equal(s, snapshot.GetProperty("stream").GetString());
        Assert.Equal(1, snapshot.GetProperty("version").GetInt64());
        Assert.Equal("""{"total":1,"items":[1,2]}""", snapshot.GetProperty("data").GetRawText());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", snapshot.GetProperty("added_at").GetString()!);

        // Overwritten by the next save; text is stored as a JSON string, like event data.
        await c.OkAsync("SNAPSHOT", "save", s, "2", "plain text");
        snapshot = System.Text.Json.JsonDocument.Parse((await c.CommandAsync("SNAPSHOT", "GET", s)).Str()).RootElement;
        Assert.Equal(2, snapshot.GetProperty("version").GetInt64());
        Assert.Equal("plain text", snapshot.GetProperty("data").GetString());

        // Snapshots are not events: counts, checksum and the log are unchanged.
        Assert.Equal(before, await StoreState.ReadAsync(c));
        Assert.Equal(3, (await c.LogVersionsAsync(s)).Count);
    }

    [Fact]
    public async Task Follow_and_consumer_groups_skip_hidden_events_and_render_forgotten_ones()
    {
        await using var c = await Server.OpenRawAsync();
        string category = $"c{Guid.NewGuid():N}";
        string truncated = $"{category}-t";
        string deleted = $"{category}-d";
        string forgotten = $"{category}-f";
        await c.AddAsync(truncated, 3);
        await c.AddAsync(deleted, 2);
        await c.AddAsync(forgotten, 1);
        await c.OkAsync("TRUNCATE", truncated, "2");
        await c.OkAsync("DELETE", deleted);
        await c.OkAsync("FORGET", forgotten);

        // FOLLOW's catch-up: only what GET returns, forgotten events without data; then live events.
        await using var follower = await Server.OpenRawAsync();
        await follower.FollowAsync($"category:{category}", "0");
        var history = await follower.ReadDeliveriesAsync(2);
        Assert.Equal([(truncated, 2L), (forgotten, 0L)], history.Select(d => (d.Event.Stream, d.Event.Version)));
        Assert.True(history[1].Event.Root.GetProperty("forgotten").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, history[1].Event.Data.ValueKind);
        var live = await c.AddAsync(deleted, 1);
        var next = await follower.ReadDeliveryAsync();
        Assert.Equal((deleted, 2L, live[0].Id), (next.Event.Stream, next.Event.Version, next.Event.Id));

        // A consumer group reads the same events; positions keep their values (gaps where hidden events were).
        await c.OkAsync("GROUP", "CREATE", $"g-{category}", $"category:{category}", "0");
        var read = await c.EventsAsync("GROUP", "READ", $"g-{category}", "consumer", "COUNT", "10");
        Assert.Equal([(truncated, 2L), (forgotten, 0L), (deleted, 2L)], read.Select(e => (e.Stream, e.Version)));
        Assert.True(read[1].Root.GetProperty("forgotten").GetBoolean());
        Assert.True(read[0].Position < read[1].Position && read[1].Position < read[2].Position);
    }
}
