using System.Text;
using EventflowDb.Client.Tests.Support;
using NUlid;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>AppendAsync and ReadStreamAsync against the real server: fields, payloads, expected versions, idempotency, errors.</summary>
public sealed class AppendAndReadTests(ClientFixture fixture, ITestOutputHelper output)
    : ClientTest<ClientFixture>(fixture, output), IClassFixture<ClientFixture>
{
    [Fact]
    public async Task Append_returns_the_recorded_events_with_every_field_and_reads_give_the_same()
    {
        string stream = Unique("fields");
        var causation = Ulid.NewUlid();
        var correlation = Ulid.NewUlid();
        EventData[] events =
        [
            EventData.FromJson("Opened", """{"owner":"ada","tags":["a","b"]}""") with
            {
                Metadata = Encoding.UTF8.GetBytes("""{"user":"u1"}"""),
                MessageId = "m-1",
                CausationId = causation,
                CorrelationId = correlation,
            },
            EventData.FromJson("Deposited", """{"amount":10.5}""") with { MessageId = "m-2", CausationId = causation },
            EventData.FromJson("Noted", "\"just text\""),
        ];

        var recorded = await Client.AppendAsync(stream, ExpectedVersion.NoStream, events);

        Assert.Equal(3, recorded.Count);
        for (int i = 0; i < 3; i++)
        {
            var e = recorded[i];
            Assert.Equal(stream, e.Stream);
            Assert.Equal(i, e.Version);
            Assert.Equal(events[i].Type, e.Type);
            Assert.Equal(events[i].Data.ToArray(), e.Data.ToArray());
            Assert.Equal(recorded[0].AddedAt, e.AddedAt);
            Assert.Equal(recorded[0].Position + i, e.Position);
            if (i > 0)
            {
                Assert.True(recorded[i - 1].Id.CompareTo(e.Id) < 0, $"ids must increase: {recorded[i - 1].Id} then {e.Id}");
            }
        }

        Assert.Equal("""{"user":"u1"}""", recorded[0].GetMetadataJson());
        Assert.Equal("m-1", recorded[0].MessageId);
        Assert.Equal(causation, recorded[0].CausationId);
        Assert.Equal(correlation, recorded[0].CorrelationId);
        Assert.Equal("m-2", recorded[1].MessageId);
        Assert.Equal(causation, recorded[1].CausationId);
        Assert.Equal(causation, recorded[1].CorrelationId); // correlation defaults to the causation id
        Assert.Null(recorded[2].Metadata);
        Assert.Null(recorded[2].MessageId);
        Assert.Equal(recorded[2].Id, recorded[2].CausationId); // causation defaults to the event's own id
        Assert.Equal(recorded[2].Id, recorded[2].CorrelationId);
        Assert.Equal("\"just text\"", recorded[2].GetDataJson());
        Assert.Equal(TimeSpan.Zero, recorded[0].AddedAt.Offset);
        Assert.True((recorded[0].AddedAt - DateTimeOffset.UtcNow).Duration() < TimeSpan.FromMinutes(5), $"added_at {recorded[0].AddedAt:O} is not the server's now");

        var read = await Client.ReadStreamAsync(stream).CollectAsync();
        Assert.Equal(recorded.Select(Describe), read.Select(Describe));
    }

    [Theory]
    [InlineData("{\"name\":\"Zo\u00eb \u2713\",\"nested\":{\"deep\":[1,{\"x\":null}]}}")]
    [InlineData("[1,2,3]")]
    [InlineData("42")]
    [InlineData("\"a string with \\\"quotes\\\" and \\u00e9\"")]
    [InlineData("true")]
    public async Task Data_comes_back_byte_for_byte(string json)
    {
        string stream = Unique("bytes");
        var e = Assert.Single(await Client.AppendAsync(stream, ExpectedVersion.Any, EventData.FromJson("T", json) with { Metadata = Encoding.UTF8.GetBytes(json) }));
        Assert.Equal(json, e.GetDataJson());
        Assert.Equal(json, e.GetMetadataJson());
        var read = Assert.Single(await Client.ReadStreamAsync(stream).CollectAsync());
        Assert.Equal(Encoding.UTF8.GetBytes(json), read.Data.ToArray());
    }

    [Fact]
    public async Task Typed_payloads_round_trip_through_source_generated_and_reflection_serialization()
    {
        string stream = Unique("typed");
        var deposit = new Deposited(12.34m, "EUR", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var audit = new AuditMetadata("ada", "10.0.0.1");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, EventData.Create("Deposited", deposit, TestJsonContext.Default.Deposited).WithMetadata(audit, TestJsonContext.Default.AuditMetadata));
        await Client.AppendAsync(stream, ExpectedVersion.Exact(1), EventData.Create("Renamed", new Renamed("Bob")));

        var read = await Client.ReadStreamAsync(stream).CollectAsync();
        Assert.Equal(2, read.Count);
        Assert.Equal(deposit, read[0].Deserialize(TestJsonContext.Default.Deposited));
        Assert.Equal(deposit, read[0].Deserialize<Deposited>());
        Assert.Equal(audit, read[0].DeserializeMetadata(TestJsonContext.Default.AuditMetadata));
        Assert.Contains("\"amount\":12.34", read[0].GetDataJson(), StringComparison.Ordinal); // camelCase (web defaults)
        Assert.Equal(new Renamed("Bob"), read[1].Deserialize(TestJsonContext.Default.Renamed));
        Assert.Null(read[1].DeserializeMetadata(TestJsonContext.Default.AuditMetadata));
    }

    [Fact]
    public async Task An_event_type_map_names_clr_types_and_deserializes_by_type_name()
    {
        var map = new EventTypeMap(TestJsonContext.Default).Add<Deposited>("money-deposited").Add(TestJsonContext.Default.Renamed);
        string stream = Unique("mapped");
        var deposit = new Deposited(1m, "USD", DateTimeOffset.UnixEpoch);
        var recorded = await Client.AppendAsync(stream, ExpectedVersion.NoStream, [map.ToEventData(deposit), map.ToEventData(new Renamed("x")) with { MessageId = "rename-1" }]);
        Assert.Equal(["money-deposited", "Renamed"], recorded.Select(e => e.Type));
        Assert.Equal("rename-1", recorded[1].MessageId);

        await Client.AppendAsync(stream, ExpectedVersion.Exact(2), EventData.FromJson("SomethingElse", "{}"));
        var payloads = new List<object>();
        var unknown = new List<string>();
        await foreach (var e in Client.ReadStreamAsync(stream))
        {
            if (map.TryDeserialize(e, out object? payload))
            {
                payloads.Add(payload);
            }
            else
            {
                unknown.Add(e.Type);
            }
        }

        Assert.Equal([deposit, new Renamed("x")], payloads);
        Assert.Equal(["SomethingElse"], unknown);
        Assert.True(map.TryGetClrType("money-deposited", out var clrType));
        Assert.Equal(typeof(Deposited), clrType);
        Assert.Equal("money-deposited", map.GetTypeName<Deposited>());
    }

    [Theory]
    [InlineData("account-\u00e9\u00e8-\u2603 with spaces")]
    [InlineData("{\"looks\":\"like json\"}")]
    [InlineData("0 10")]
    public async Task Unusual_stream_names_are_sent_safely(string prefix)
    {
        string stream = prefix + Guid.NewGuid().ToString("N");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));
        var read = await Client.ReadStreamAsync(stream).CollectAsync();
        Assert.Equal([0L, 1L], read.Select(e => e.Version));
        Assert.All(read, e => Assert.Equal(stream, e.Stream));
        var info = (await Client.ListStreamsAsync().CollectAsync()).First(s => s.Stream == stream);
        Assert.Equal(2, info.EventCount);
        Assert.Equal(1, info.LastVersion);
    }

    [Fact]
    public async Task A_stream_reads_from_a_version_and_a_missing_stream_reads_empty()
    {
        string stream = Unique("from");
        await Client.AppendAsync(stream, ExpectedVersion.Any, Numbered(6));
        var tail = await Client.ReadStreamAsync(stream, fromVersion: 3).CollectAsync();
        Assert.Equal([3L, 4L, 5L], tail.Select(e => e.Version));
        Assert.Equal(["""{"n":3}""", """{"n":4}""", """{"n":5}"""], tail.Select(e => e.GetDataJson()));
        Assert.Empty(await Client.ReadStreamAsync(stream, fromVersion: 6).CollectAsync());
        Assert.Empty(await Client.ReadStreamAsync(Unique("missing")).CollectAsync());
    }

    [Fact]
    public async Task Expected_versions_are_enforced_and_conflicts_carry_both_versions()
    {
        string stream = Unique("ev");

        var exists = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.AppendAsync(stream, ExpectedVersion.Exists, Numbered(1)));
        Assert.Equal(ExpectedVersion.Exists, exists.ExpectedVersion);
        Assert.Equal(0, exists.ActualVersion);
        Assert.Equal(stream, exists.Stream);
        Assert.Equal(EventflowDbErrorCodes.WrongVersion, exists.ErrorCode);

        var gap = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.AppendAsync(stream, ExpectedVersion.Exact(1), Numbered(1)));
        Assert.Equal(ExpectedVersion.Exact(1), gap.ExpectedVersion);
        Assert.Equal(0, gap.ActualVersion);

        Assert.Equal(0, Assert.Single(await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(1))).Version);

        var noStream = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(1)));
        Assert.Equal(ExpectedVersion.NoStream, noStream.ExpectedVersion);
        Assert.Equal(1, noStream.ActualVersion);

        Assert.Equal(1, Assert.Single(await Client.AppendAsync(stream, ExpectedVersion.Exists, Numbered(1))).Version);
        Assert.Equal([2L, 3L], (await Client.AppendAsync(stream, ExpectedVersion.Exact(2), Numbered(2))).Select(e => e.Version));
        Assert.Equal(4, Assert.Single(await Client.AppendAsync(stream, ExpectedVersion.Any, Numbered(1))).Version);

        var stale = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.AppendAsync(stream, ExpectedVersion.Exact(3), Numbered(1)));
        Assert.Equal(ExpectedVersion.Exact(3), stale.ExpectedVersion);
        Assert.Equal(5, stale.ActualVersion);
        Assert.StartsWith("WRONGVERSION", stale.Message, StringComparison.Ordinal);

        Assert.Equal(5, await Client.ReadStreamAsync(stream).CountAllAsync());
    }

    [Fact]
    public async Task Repeating_an_append_with_the_same_message_ids_stores_nothing_and_returns_the_first_events()
    {
        string stream = Unique("idem");
        EventData[] batch = [EventData.FromJson("A", "{}") with { MessageId = "cmd-1/0" }, EventData.FromJson("B", "{}") with { MessageId = "cmd-1/1" }];
        var first = await Client.AppendAsync(stream, ExpectedVersion.NoStream, batch);
        await Client.AppendAsync(stream, ExpectedVersion.Exact(2), Numbered(1));
        long eventsBefore = await Client.GetEventCountAsync();

        // The same batch again, with a version that would now fail: the server recognizes the message ids.
        var again = await Client.AppendAsync(stream, ExpectedVersion.NoStream, batch);
        Assert.Equal(first.Select(e => e.Id), again.Select(e => e.Id));
        Assert.Equal([0L, 1L], again.Select(e => e.Version));
        Assert.Equal(3, await Client.ReadStreamAsync(stream).CountAllAsync());

        // Only some of the ids repeated: rejected as WRONGVERSION without versions in the message.
        var partial = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.AppendAsync(
            stream, ExpectedVersion.Any, [batch[0], EventData.FromJson("C", "{}") with { MessageId = "cmd-2/0" }]));
        Assert.Null(partial.ExpectedVersion);
        Assert.Null(partial.ActualVersion);

        // The same id twice in one batch is invalid.
        var twice = await Assert.ThrowsAsync<InvalidEventException>(() => Client.AppendAsync(
            stream, ExpectedVersion.Any, [EventData.FromJson("D", "{}") with { MessageId = "dup" }, EventData.FromJson("D", "{}") with { MessageId = "dup" }]));
        Assert.Equal(EventflowDbErrorCodes.Invalid, twice.ErrorCode);

        Assert.Equal(3, await Client.ReadStreamAsync(stream).CountAllAsync());
        Assert.True(await Client.GetEventCountAsync() >= eventsBefore);
        Assert.DoesNotContain(await Client.ReadStreamAsync(stream).CollectAsync(), e => e.MessageId is "cmd-2/0" or "dup");
    }

    [Fact]
    public async Task Server_rejections_become_typed_exceptions_and_the_client_keeps_working()
    {
        var zero = await Assert.ThrowsAsync<InvalidEventException>(() => Client.AppendAsync("00000000-0000-0000-0000-000000000000", ExpectedVersion.Any, Numbered(1)));
        Assert.Equal(EventflowDbErrorCodes.Invalid, zero.ErrorCode);
        Assert.Contains("all zeroes", zero.Message, StringComparison.Ordinal);

        var tooLong = await Assert.ThrowsAsync<InvalidEventException>(() => Client.AppendAsync(new string('s', 257), ExpectedVersion.Any, Numbered(1)));
        Assert.Equal(EventflowDbErrorCodes.Invalid, tooLong.ErrorCode);

        var big = EventData.FromJson("Big", "\"" + new string('x', 5 * 1024 * 1024) + "\"");
        var tooLarge = await Assert.ThrowsAsync<EventflowDbException>(() => Client.AppendAsync(Unique("big"), ExpectedVersion.Any, big));
        Assert.Equal(EventflowDbErrorCodes.TooLarge, tooLarge.ErrorCode);

        string stream = Unique("after-errors");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(1));
        Assert.Equal(1, await Client.ReadStreamAsync(stream).CountAllAsync());
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected_before_anything_is_sent()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client.AppendAsync(Unique("empty"), ExpectedVersion.Any, []));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.AppendAsync("", ExpectedVersion.Any, Numbered(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Client.ReadStreamAsync("s", fromVersion: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Client.ReadAllAsync(pageSize: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Client.ListStreamsAsync(skip: -1));
    }

    private static string Describe(RecordedEvent e) =>
        $"{e.Id} {e.Position} {e.Stream} {e.Version} {e.Type} {e.GetDataJson()} {e.GetMetadataJson()} {e.MessageId} {e.CausationId} {e.CorrelationId} {e.AddedAt:O}";
}
