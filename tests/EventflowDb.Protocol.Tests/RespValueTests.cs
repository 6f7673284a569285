using System.Buffers;
using System.Text;

namespace EventflowDb.Protocol.Tests;

public class RespValueTests
{
    private static RespValue Read(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text));
        Assert.True(RespValue.TryRead(buffer, out RespValue? value, out SequencePosition consumed));
        Assert.Equal(buffer.End, consumed);
        return value!;
    }

    [Theory]
    [InlineData("+OK\r\n", "+OK")]
    [InlineData("-ERR no\r\n", "(error) ERR no")]
    [InlineData(":-7\r\n", "(integer) -7")]
    [InlineData("$5\r\na\r\n\"\\\r\n", "\"a\\r\\n\\\"\\\\\"")]
    [InlineData("$2\r\n\u0000\u00ff\r\n", "\"\\x00\\xff\"")]
    [InlineData("$-1\r\n", "(nil)")]
    [InlineData("*-1\r\n", "(nil)")]
    [InlineData("_\r\n", "(nil)")]
    [InlineData("*0\r\n", "[]")]
    [InlineData("*2\r\n:1\r\n*1\r\n$1\r\nx\r\n", "[(integer) 1, [\"x\"]]")]
    [InlineData(",3.5\r\n", "(double) 3.5")]
    [InlineData(",-inf\r\n", "(double) -inf")]
    [InlineData("#t\r\n", "(true)")]
    [InlineData("#f\r\n", "(false)")]
    [InlineData("=8\r\ntxt:a\r\nb\r\n", "(verbatim txt) \"a\\r\\nb\"")]
    [InlineData("(3492890328409238509324850943850943825024385\r\n", "(big number) 3492890328409238509324850943850943825024385")]
    [InlineData("%2\r\n+a\r\n:1\r\n+b\r\n_\r\n", "{+a: (integer) 1, +b: (nil)}")]
    [InlineData("~2\r\n:1\r\n:2\r\n", "(set) [(integer) 1, (integer) 2]")]
    [InlineData(">2\r\n+message\r\n$2\r\nhi\r\n", "(push) [+message, \"hi\"]")]
    [InlineData("!9\r\nERR oops!\r\n", "(bulk error) \"ERR oops!\"")]
    public void Reads_every_type(string wire, string expected)
    {
        Assert.Equal(expected, Read(wire).ToString());
    }

    [Fact]
    public void Exposes_typed_fields()
    {
        RespValue map = Read("%1\r\n+key\r\n=7\r\nmkd:# x\r\n");

        Assert.Equal(RespType.Map, map.Type);
        Assert.Equal(2, map.Items.Count);
        Assert.Equal("key", map.Items[0].Text);
        Assert.Equal(RespType.VerbatimString, map.Items[1].Type);
        Assert.Equal("mkd", map.Items[1].Format);
        Assert.Equal("# x", map.Items[1].Text);
        Assert.Equal(long.MinValue, Read(":-9223372036854775808\r\n").Integer);
        Assert.Equal(1, Read("#t\r\n").Integer);
        Assert.Null(Read("_\r\n").Bytes);
    }

    [Fact]
    public void An_attribute_is_read_and_attached_to_the_value_it_annotates()
    {
        RespValue value = Read("|1\r\n+ttl\r\n:3600\r\n*2\r\n:1\r\n|1\r\n+hint\r\n#t\r\n:2\r\n");

        Assert.Equal(RespType.Array, value.Type);
        Assert.Equal(["ttl", null], value.Attributes.Select(a => a.Text));
        Assert.Equal(3600, value.Attributes[1].Integer);
        Assert.Equal(2, value.Items[1].Integer);
        Assert.Equal("(true)", value.Items[1].Attributes[1].ToString());
        Assert.Equal("(attributes) {+ttl: (integer) 3600} [(integer) 1, (attributes) {+hint: (true)} (integer) 2]", value.ToString());
    }

    [Fact]
    public void Reads_one_value_and_leaves_the_rest()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(":1\r\n:2\r\n"));

        Assert.True(RespValue.TryRead(buffer, out RespValue? first, out SequencePosition consumed));
        Assert.Equal(1, first!.Integer);
        Assert.Equal(":2\r\n", Encoding.ASCII.GetString(buffer.Slice(consumed).ToArray()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("+OK")]
    [InlineData("+OK\r")]
    [InlineData("$3\r\nab")]
    [InlineData("$3\r\nabc\r")]
    [InlineData("*2\r\n:1\r\n")]
    [InlineData("%1\r\n+a\r\n")]
    [InlineData("|1\r\n+a\r\n:1\r\n")]
    public void Incomplete_values_are_not_read(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text));

        Assert.False(RespValue.TryRead(buffer, out RespValue? value, out SequencePosition consumed));
        Assert.Null(value);
        Assert.Equal(buffer.Start, consumed);
    }

    [Fact]
    public void A_huge_aggregate_count_waits_without_allocating_for_it()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("*2000000000\r\n:1\r\n"));
        RespValue.TryRead(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(":1\r\n")), out _, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(RespValue.TryRead(buffer, out _, out _));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 * 1024);
    }

    [Theory]
    [InlineData("?\r\n")]
    [InlineData(":abc\r\n")]
    [InlineData(":\r\n")]
    [InlineData("$3\r\nabcd\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("$x\r\n")]
    [InlineData("$?\r\n")]
    [InlineData("*?\r\n")]
    [InlineData("~-1\r\n")]
    [InlineData("!-1\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("_x\r\n")]
    [InlineData(",\r\n")]
    [InlineData(",abc\r\n")]
    [InlineData("(12a\r\n")]
    [InlineData("=3\r\nabc\r\n")]
    [InlineData("*1\r\n?\r\n")]
    public void Malformed_values_throw_format_exceptions(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text));

        Assert.Throws<FormatException>(() => RespValue.TryRead(buffer, out _, out _));
    }

    [Fact]
    public void Nesting_too_deep_is_malformed_rather_than_a_stack_overflow()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", 10_000)) + ":1\r\n"));

        Assert.Throws<FormatException>(() => RespValue.TryRead(buffer, out _, out _));
    }
}
