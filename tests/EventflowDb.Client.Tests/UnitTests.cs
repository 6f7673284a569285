using System.Text;
using System.Text.Json;
using EventflowDb.Client.Tests.Support;
using NUlid;

namespace EventflowDb.Client.Tests;

/// <summary>The client's own logic, without a server: expected versions, error parsing, event JSON, argument checks.</summary>
public sealed class UnitTests
{
    [Fact]
    public void Expected_versions_have_their_wire_forms_and_default_to_any()
    {
        Assert.Equal("any", ExpectedVersion.Any.ToString());
        Assert.Equal("no_stream", ExpectedVersion.NoStream.ToString());
        Assert.Equal("exists", ExpectedVersion.Exists.ToString());
        Assert.Equal("0", ExpectedVersion.Exact(0).ToString());
        Assert.Equal("42", ExpectedVersion.Exact(42).ToString());
        Assert.Equal(ExpectedVersion.Any, default);
        Assert.NotEqual(ExpectedVersion.Exact(0), ExpectedVersion.NoStream);
        Assert.Equal(7, ExpectedVersion.Exact(7).Value);
        Assert.Null(ExpectedVersion.Exists.Value);
        Assert.True(ExpectedVersion.Exact(0).IsExact);
        Assert.False(ExpectedVersion.Any.IsExact);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedVersion.Exact(-1));

        foreach (var v in new[] { ExpectedVersion.Any, ExpectedVersion.NoStream, ExpectedVersion.Exists, ExpectedVersion.Exact(0), ExpectedVersion.Exact(123) })
        {
            Assert.True(ExpectedVersion.TryParse(v.ToString(), out var parsed));
            Assert.Equal(v, parsed);
            Assert.True(v == parsed);
        }

        Assert.False(ExpectedVersion.TryParse("-1", out _));
        Assert.False(ExpectedVersion.TryParse("ANY", out _));
    }

    [Theory]
    [InlineData("WRONGVERSION concurrent stream modification (expected 1, stream is at 3)", "1", 3L)]
    [InlineData("WRONGVERSION given version leaves gap in stream (expected 9, stream is at 2)", "9", 2L)]
    [InlineData("WRONGVERSION concurrent stream modification (expected no_stream, stream is at 1)", "no_stream", 1L)]
    [InlineData("WRONGVERSION given version leaves gap in stream (expected exists, stream is at 0)", "exists", 0L)]
    public void WRONGVERSION_replies_are_parsed_into_the_versions(string reply, string expected, long actual)
    {
        var e = Assert.IsType<WrongExpectedVersionException>(ServerErrors.FromReply(reply, "s-1"));
        Assert.True(ExpectedVersion.TryParse(expected, out var version));
        Assert.Equal(version, e.ExpectedVersion);
        Assert.Equal(actual, e.ActualVersion);
        Assert.Equal("s-1", e.Stream);
        Assert.Equal("WRONGVERSION", e.ErrorCode);
        Assert.Equal(reply, e.Message);
    }

    [Theory]
    [InlineData("WRONGVERSION some message ids of this batch are already stored and others are not", typeof(WrongExpectedVersionException), "WRONGVERSION")]
    [InlineData("NOAUTH Authentication required.", typeof(AuthenticationException), "NOAUTH")]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.", typeof(AuthenticationException), "WRONGPASS")]
    [InlineData("INVALID stream cannot be all zeroes", typeof(InvalidEventException), "INVALID")]
    [InlineData("TOOLARGE ADD is over the 4194304 byte limit", typeof(EventflowDbException), "TOOLARGE")]
    [InlineData("ERR unknown command 'FOO'", typeof(EventflowDbException), "ERR")]
    [InlineData("something without a code", typeof(EventflowDbException), "ERR")]
    public void Error_replies_become_typed_exceptions_that_keep_the_code(string reply, Type type, string code)
    {
        var e = ServerErrors.FromReply(reply, null);
        Assert.IsType(type, e);
        Assert.Equal(code, e.ErrorCode);
        Assert.Equal(reply, e.Message);
    }

    [Theory]
    [InlineData("SimpleError: WRONGPASS invalid username-password pair or user is disabled.", typeof(AuthenticationException), "WRONGPASS")]
    [InlineData("SimpleError: NOAUTH Authentication required.", typeof(AuthenticationException), "NOAUTH")]
    [InlineData("BulkError: INVALID event type cannot be empty", typeof(InvalidEventException), "INVALID")]
    public void The_error_prefix_StackExchange_Redis_adds_to_some_replies_is_ignored(string reply, Type type, string code)
    {
        var e = ServerErrors.FromReply(reply, null);
        Assert.IsType(type, e);
        Assert.Equal(code, e.ErrorCode);
        Assert.Equal(reply[(reply.IndexOf(": ", StringComparison.Ordinal) + 2)..], e.Message);

        var conflict = Assert.IsType<WrongExpectedVersionException>(ServerErrors.FromReply("SimpleError: WRONGVERSION concurrent stream modification (expected 1, stream is at 3)", null));
        Assert.Equal(ExpectedVersion.Exact(1), conflict.ExpectedVersion);
        Assert.Equal(3, conflict.ActualVersion);
    }

    [Fact]
    public void Event_json_is_read_with_data_and_metadata_kept_as_raw_bytes()
    {
        var id = Ulid.NewUlid();
        var causation = Ulid.NewUlid();
        string json = $$"""{"id":"{{id}}","position":7,"stream":"s-\u00e9","version":2,"type":"T","data":{ "a" : [1, "x"] },"metadata":"m","causation_id":"{{causation}}","correlation_id":"{{causation}}","message_id":"mid","added_at":"2025-01-02T03:04:05.678Z","future_field":{"x":1} }""";
        var e = WireFormat.ReadEvent(Encoding.UTF8.GetBytes(json));
        Assert.Equal(id, e.Id);
        Assert.Equal(7, e.Position);
        Assert.Equal("s-é", e.Stream);
        Assert.Equal(2, e.Version);
        Assert.Equal("T", e.Type);
        Assert.Equal("""{ "a" : [1, "x"] }""", e.GetDataJson());
        Assert.Equal("\"m\"", e.GetMetadataJson());
        Assert.Equal(causation, e.CausationId);
        Assert.Equal(causation, e.CorrelationId);
        Assert.Equal("mid", e.MessageId);
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), e.AddedAt);

        string minimal = $$"""{"id":"{{id}}","position":0,"stream":"s","version":0,"type":"T","data":"d","causation_id":"{{id}}","correlation_id":"{{id}}","added_at":"2025-01-02T03:04:05Z"}""";
        var m = WireFormat.ReadEvent(Encoding.UTF8.GetBytes(minimal));
        Assert.Null(m.Metadata);
        Assert.Null(m.MessageId);
        Assert.Equal("\"d\"", m.GetDataJson());

        Assert.Throws<EventflowDbException>(() => WireFormat.ReadEvent(Encoding.UTF8.GetBytes("""{"id":"not-a-ulid"}""")));
        Assert.Throws<EventflowDbException>(() => WireFormat.ReadEvent(Encoding.UTF8.GetBytes("[]")));
    }

    [Fact]
    public void The_add_request_is_the_json_form_with_raw_payloads_and_every_id()
    {
        var causation = Ulid.NewUlid();
        byte[] request = WireFormat.AddRequest("s", ExpectedVersion.Exact(3), [
            EventData.FromJson("A", """{"x":[1,2]}""") with { Metadata = "{\"m\":1}"u8.ToArray(), MessageId = "id-1", CausationId = causation, CorrelationId = causation },
            EventData.FromJson("B", "\"text\""),
        ]);
        using var doc = JsonDocument.Parse(request);
        var root = doc.RootElement;
        Assert.Equal("s", root.GetProperty("stream").GetString());
        Assert.Equal(3, root.GetProperty("version").GetInt64());
        var events = root.GetProperty("events");
        Assert.Equal("""{"x":[1,2]}""", events[0].GetProperty("data").GetRawText());
        Assert.Equal("""{"m":1}""", events[0].GetProperty("metadata").GetRawText());
        Assert.Equal("id-1", events[0].GetProperty("message_id").GetString());
        Assert.Equal(causation.ToString(), events[0].GetProperty("causation_id").GetString());
        Assert.Equal(causation.ToString(), events[0].GetProperty("correlation_id").GetString());
        Assert.Equal(JsonValueKind.String, events[1].GetProperty("data").ValueKind);
        Assert.False(events[1].TryGetProperty("metadata", out _));
        Assert.False(events[1].TryGetProperty("message_id", out _));

        using var any = JsonDocument.Parse(WireFormat.AddRequest("s", ExpectedVersion.NoStream, [EventData.FromJson("A", "1")]));
        Assert.Equal("no_stream", any.RootElement.GetProperty("version").GetString());
    }

    [Fact]
    public void Event_data_is_checked_when_created()
    {
        Assert.Throws<ArgumentException>(() => EventData.FromJson("", "{}"));
        Assert.Throws<ArgumentException>(() => EventData.FromJson(new string('t', 129), "{}"));
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "{not json"));
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "{} {}"));
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "null"));
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", ""));
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "{}") with { Metadata = "nope"u8.ToArray() });
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "{}") with { MessageId = "" });
        Assert.Throws<ArgumentException>(() => EventData.FromJson("T", "{}") with { MessageId = new string('m', 129) });
        Assert.Equal(new string('m', 128), (EventData.FromJson("T", "{}") with { MessageId = new string('m', 128) }).MessageId);
        Assert.Equal("\"x\"", Encoding.UTF8.GetString(EventData.FromJson("T", "\"x\"").Data.Span));
    }

    [Fact]
    public void An_event_type_map_refuses_ambiguous_registrations()
    {
        var map = new EventTypeMap(TestJsonContext.Default).Add<Deposited>("Deposited");
        Assert.Throws<ArgumentException>(() => map.Add<Renamed>("Deposited"));
        Assert.Throws<ArgumentException>(() => map.Add<Deposited>("Other"));
        map.Add<Deposited>("Deposited"); // the same registration again is fine
        Assert.Throws<KeyNotFoundException>(() => map.ToEventData(new Renamed("x")));
        Assert.Throws<KeyNotFoundException>(() => map.GetTypeName<Renamed>());
        Assert.False(map.TryGetClrType("Renamed", out _));
        Assert.Equal("Deposited", map.ToEventData(new Deposited(1m, "EUR", DateTimeOffset.UnixEpoch)).Type);
    }

    [Fact]
    public void Options_refuse_negative_values()
    {
        Assert.Equal(1, new EventflowDbClientOptions().ConnectionFailureRetries);
        Assert.Equal(0, new EventflowDbClientOptions().PageSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventflowDbClientOptions { ConnectionFailureRetries = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventflowDbClientOptions { PageSize = -1 });
    }
}
