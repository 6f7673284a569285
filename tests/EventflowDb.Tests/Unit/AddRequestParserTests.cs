using System.Text;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Storage;

namespace EventflowDb.Tests.Unit;

public class AddRequestParserTests
{
    private const int Limit = 1 << 20;

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    [Fact]
    public void Positional_form_keeps_json_objects_and_arrays_and_quotes_everything_else()
    {
        var request = AddRequestParser.Parse(RequestBuilder.Parse("ADD", "s-1", "any", "A", "{\"x\":1}", "B", "[1,2]", "C", "42", "D", "say \"hi\"", "E", "{not json"), Limit);
        Assert.Equal("s-1", request.Stream);
        Assert.Equal(ExpectedVersion.Any, request.Expected);
        Assert.Equal(["A", "B", "C", "D", "E"], request.Events.Select(e => e.Type));
        Assert.Equal(["{\"x\":1}", "[1,2]", "\"42\"", "\"say \\\"hi\\\"\"", "\"{not json\""], request.Events.Select(e => Text(e.Data)));
    }

    [Theory]
    [InlineData("any", -1)]
    [InlineData("no_stream", -2)]
    [InlineData("exists", -3)]
    [InlineData("ANY", -1)]
    [InlineData("No_Stream", -2)]
    [InlineData("0", 0)]
    [InlineData("17", 17)]
    public void Expected_versions(string text, long value) =>
        Assert.Equal(value, AddRequestParser.Parse(RequestBuilder.Parse("ADD", "s", text, "T", "d"), Limit).Expected.Value);

    [Fact]
    public void Json_form_reads_every_field_and_copies_payloads_verbatim()
    {
        string json = """{"stream":"acc-1","version":"no_stream","events":[{"type":"Opened","data":{"a" : [1, 2]},"metadata":"m","message_id":"m1","causation_id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","correlation_id":"01ARZ3NDEKTSV4RRFFQ69G5FAW"},{"type":"Noted","data":"text"}]}""";
        var request = AddRequestParser.Parse(RequestBuilder.Parse("ADD", json), Limit);
        Assert.Equal("acc-1", request.Stream);
        Assert.Equal(ExpectedVersion.NoStream, request.Expected);
        Assert.Equal(2, request.Events.Count);
        var first = request.Events[0];
        Assert.Equal("{\"a\" : [1, 2]}", Text(first.Data));
        Assert.Equal("\"m\"", Text(first.Metadata));
        Assert.Equal("m1", first.MessageId);
        Assert.Equal("01ARZ3NDEKTSV4RRFFQ69G5FAV", first.CausationId.ToString());
        Assert.Equal("01ARZ3NDEKTSV4RRFFQ69G5FAW", first.CorrelationId.ToString());
        Assert.Equal("\"text\"", Text(request.Events[1].Data));
        Assert.True(request.Events[1].Metadata.IsEmpty);
        Assert.Null(request.Events[1].MessageId);
    }

    [Theory]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":1}]}""", -1)]
    [InlineData("""{"stream":"s","version":3,"events":[{"type":"T","data":1}]}""", 3)]
    public void Json_form_version_defaults_to_any_and_accepts_numbers(string json, long expected) =>
        Assert.Equal(expected, AddRequestParser.Parse(RequestBuilder.Parse("ADD", json), Limit).Expected.Value);

    [Theory]
    [InlineData("""{"stream":"s","events":[]}""", "INVALID")]
    [InlineData("""{"events":[{"type":"T","data":1}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"","data":1}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"T"}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":null}]}""", "INVALID")]
    [InlineData("""{"stream":"00000000-0000-0000-0000-000000000000","events":[{"type":"T","data":1}]}""", "INVALID stream cannot be all zeroes")]
    [InlineData("""{"stream":"s","version":-1,"events":[{"type":"T","data":1}]}""", "INVALID")]
    [InlineData("""{"stream":"s","version":"sometimes","events":[{"type":"T","data":1}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":1,"message_id":"a"},{"type":"T","data":2,"message_id":"a"}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":1,"causation_id":"nope"}]}""", "INVALID")]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":1,"mesage_id":"a"}]}""", "ERR")]
    [InlineData("""{"stream":"s","events":[{"type":"T","data":1}""", "ERR")]
    [InlineData("""{"stream":5,"events":[{"type":"T","data":1}]}""", "ERR")]
    public void Json_form_rule_breaks_get_their_code_word(string json, string expectedPrefix)
    {
        var error = Assert.ThrowsAny<Exception>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", json), Limit));
        string message = error is System.Text.Json.JsonException ? "ERR " + error.Message : error.Message;
        Assert.StartsWith(expectedPrefix, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_rules()
    {
        Assert.StartsWith("INVALID", Assert.Throws<CommandException>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", new string('s', 257), "any", "T", "d"), Limit)).Message, StringComparison.Ordinal);
        Assert.StartsWith("INVALID", Assert.Throws<CommandException>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", "a\u0001b", "any", "T", "d"), Limit)).Message, StringComparison.Ordinal);
        Assert.StartsWith("INVALID", Assert.Throws<CommandException>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", "00000000000000000000000000000000", "any", "T", "d"), Limit)).Message, StringComparison.Ordinal);
        Assert.Equal(new string('s', 256), AddRequestParser.Parse(RequestBuilder.Parse("ADD", new string('s', 256), "any", "T", "d"), Limit).Stream);
    }

    [Fact]
    public void Oversized_adds_are_too_large_before_any_copy()
    {
        string big = new('x', 5000);
        var error = Assert.Throws<CommandException>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", "s", "any", "T", big), 4096));
        Assert.StartsWith("TOOLARGE", error.Message, StringComparison.Ordinal);
        var estimated = Assert.Throws<CommandException>(() => AddRequestParser.Parse(RequestBuilder.Parse("ADD", "s", "any", "T", new string('x', 3900)), 4096));
        Assert.StartsWith("TOOLARGE", estimated.Message, StringComparison.Ordinal);
    }
}
