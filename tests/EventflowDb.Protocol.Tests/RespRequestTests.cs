using System.Buffers;
using static EventflowDb.Protocol.Tests.RequestCodec;

namespace EventflowDb.Protocol.Tests;

public class RespRequestTests
{
    private static RespRequest Parse(params byte[][] arguments)
    {
        var request = new RespRequest();
        var reader = new RespRequestReader(new RespLimits());
        Assert.Equal(RespReadStatus.Complete, reader.TryRead(new ReadOnlySequence<byte>(Multibulk(arguments)), request, out _, out _));
        return request;
    }

    private static RespRequest Parse(params string[] arguments) =>
        Parse(arguments.Select(System.Text.Encoding.UTF8.GetBytes).ToArray());

    [Fact]
    public void Exposes_arguments_as_spans_memory_and_strings()
    {
        RespRequest request = Parse("SET", "clé", "");

        Assert.Equal(3, request.Count);
        Assert.Equal("SET"u8.ToArray(), request[0].ToArray());
        Assert.Equal("clé", request.GetString(1));
        Assert.Equal(request[1].ToArray(), request.GetMemory(1).ToArray());
        Assert.Equal(string.Empty, request.GetString(2));
        Assert.True(request.GetMemory(2).IsEmpty);
    }

    [Fact]
    public void Index_outside_the_arguments_throws()
    {
        RespRequest request = Parse("PING");

        Assert.Throws<ArgumentOutOfRangeException>(() => request[1].Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => request[-1].Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => request.GetMemory(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespRequest()[0].Length);
    }

    [Theory]
    [InlineData("get", true)]
    [InlineData("GET", true)]
    [InlineData("gEt", true)]
    [InlineData("GETX", false)]
    [InlineData("GE", false)]
    [InlineData("", false)]
    [InlineData("G\u00c9T", false)]
    [InlineData("GE\u0014", false)]
    public void Compares_ignoring_ascii_case(string argument, bool expected)
    {
        RespRequest request = Parse(argument);

        Assert.Equal(expected, request.EqualsIgnoreCase(0, "GET"u8));
    }

    [Fact]
    public void Case_folding_touches_letters_only()
    {
        // '@' | 0x20 is '`' and '[' | 0x20 is '{': a naive OR-0x20 comparison would match these.
        Assert.False(Parse("`").EqualsIgnoreCase(0, "@"u8));
        Assert.False(Parse("{").EqualsIgnoreCase(0, "["u8));
        Assert.True(Parse("client-setinfo_1").EqualsIgnoreCase(0, "CLIENT-SETINFO_1"u8));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-42", -42L)]
    [InlineData("007", 7L)]
    [InlineData("-0", 0L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Parses_base_10_integers(string text, long expected)
    {
        Assert.True(Parse(text).TryGetInt64(0, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1a")]
    [InlineData("1.0")]
    [InlineData("0x10")]
    [InlineData("--1")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("99999999999999999999")]
    public void Rejects_what_is_not_a_base_10_integer(string text)
    {
        Assert.False(Parse(text).TryGetInt64(0, out _));
    }

    [Fact]
    public void Arguments_grow_past_the_initial_capacity_and_are_reused()
    {
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();
        string[] many = Enumerable.Range(0, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        Assert.Equal(RespReadStatus.Complete, reader.TryRead(new ReadOnlySequence<byte>(Multibulk(many)), request, out _, out _));
        Assert.Equal(1000, request.Count);
        Assert.True(request.TryGetInt64(999, out long last));
        Assert.Equal(999, last);

        Assert.Equal(RespReadStatus.Complete, reader.TryRead(new ReadOnlySequence<byte>(Multibulk("PING")), request, out _, out _));
        Assert.Equal(["PING"], Strings(request));
    }
}
