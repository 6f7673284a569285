using System.Buffers;
using System.Runtime.InteropServices;
using static EventflowDb.Protocol.Tests.RequestCodec;

namespace EventflowDb.Protocol.Tests;

public class RespRequestReaderTests
{
    private readonly RespRequestReader _reader = new(new RespLimits());
    private readonly RespRequest _request = new();

    private RespReadStatus Read(byte[] data, out SequencePosition consumed, out string? error) =>
        _reader.TryRead(new ReadOnlySequence<byte>(data), _request, out consumed, out error);

    [Fact]
    public void Reads_a_multibulk_request()
    {
        byte[] data = Ascii("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");

        Assert.Equal(RespReadStatus.Complete, Read(data, out SequencePosition consumed, out string? error));

        Assert.Null(error);
        Assert.False(_request.IsInline);
        Assert.Equal(["SET", "key", "value"], Strings(_request));
        Assert.Equal(data.Length, consumed.GetInteger());
    }

    [Fact]
    public void Reads_empty_and_binary_bulk_arguments()
    {
        byte[] binary = [0, 13, 10, 255, 42, 13];
        byte[] data = Multibulk([Ascii("ECHO"), [], binary]);

        Assert.Equal(RespReadStatus.Complete, Read(data, out _, out _));

        Assert.Equal(3, _request.Count);
        Assert.True(_request[1].IsEmpty);
        Assert.Equal(binary, _request[2].ToArray());
    }

    [Theory]
    [InlineData("PING\r\n", new[] { "PING" })]
    [InlineData("PING\n", new[] { "PING" })]
    [InlineData("SET key value\r\n", new[] { "SET", "key", "value" })]
    [InlineData("  SET \t key    value  \r\n", new[] { "SET", "key", "value" })]
    [InlineData("GET a\rb\r\n", new[] { "GET", "a", "b" })]
    [InlineData("ECHO a\vb\n", new[] { "ECHO", "a\vb" })]
    public void Reads_inline_commands(string line, string[] expected)
    {
        Assert.Equal(RespReadStatus.Complete, Read(Ascii(line), out SequencePosition consumed, out _));

        Assert.True(_request.IsInline);
        Assert.Equal(expected, Strings(_request));
        Assert.Equal(line.Length, consumed.GetInteger());
    }

    [Theory]
    [InlineData("SET \"a b\" 'c d'\r\n", new[] { "SET", "a b", "c d" })]
    [InlineData("ECHO \"q\\\"uote\\\\slash\"\r\n", new[] { "ECHO", "q\"uote\\slash" })]
    [InlineData("ECHO \"\\n\\r\\t\\b\\a\"\n", new[] { "ECHO", "\n\r\t\b\a" })]
    [InlineData("ECHO \"\\x41\\x7a\\x0D\"\n", new[] { "ECHO", "Az\r" })]
    [InlineData("ECHO \"\\xZZ\"\n", new[] { "ECHO", "xZZ" })]
    [InlineData("ECHO \"\\q\"\n", new[] { "ECHO", "q" })]
    [InlineData("ECHO 'it\\'s' 'no \\n escape'\n", new[] { "ECHO", "it's", "no \\n escape" })]
    [InlineData("ECHO \"\" ''\n", new[] { "ECHO", "", "" })]
    [InlineData("ECHO foo\"bar baz\"\n", new[] { "ECHO", "foobar baz" })]
    [InlineData("ECHO \"a\"\t\"b\"\r\n", new[] { "ECHO", "a", "b" })]
    public void Reads_quoted_inline_arguments_like_redis(string line, string[] expected)
    {
        Assert.Equal(RespReadStatus.Complete, Read(Ascii(line), out _, out string? error));

        Assert.Null(error);
        Assert.True(_request.IsInline);
        Assert.Equal(expected, Strings(_request));
    }

    [Theory]
    [InlineData("SET \"abc\r\n")]
    [InlineData("SET 'abc\r\n")]
    [InlineData("SET \"abc\"def\r\n")]
    [InlineData("SET 'abc'def\r\n")]
    [InlineData("SET \"abc\\\"\r\n")]
    [InlineData("SET \"abc\\\r\n")]
    public void Rejects_unbalanced_quotes(string line)
    {
        Assert.Equal(RespReadStatus.ProtocolError, Read(Ascii(line), out _, out string? error));
        Assert.Equal("unbalanced quotes in request", error);
        Assert.Equal(0, _request.Count);
    }

    [Fact]
    public void Reads_pipelined_requests_in_order()
    {
        byte[] data = [.. Multibulk("SET", "a", "1"), .. Ascii("GET a\r\n"), .. Multibulk("PING"), .. Ascii("ECHO \"x y\"\n")];

        var (requests, final, _, unconsumed) = ReadAll(data);

        Assert.Equal(RespReadStatus.Incomplete, final);
        Assert.Equal(0, unconsumed);
        Assert.Equal(
            ["SET a 1", "GET a", "PING", "ECHO x y"],
            requests.Select(r => string.Join(' ', r.Select(a => System.Text.Encoding.ASCII.GetString(a)))));
    }

    [Fact]
    public void Skips_empty_lines_and_empty_arrays_before_a_request()
    {
        byte[] data = [.. Ascii("\r\n\n   \r\n*0\r\n*-1\r\n\t\n"), .. Multibulk("PING"), .. Ascii("\r\n")];

        Assert.Equal(RespReadStatus.Complete, Read(data, out SequencePosition consumed, out _));

        Assert.Equal(["PING"], Strings(_request));
        Assert.Equal(data.Length - 2, consumed.GetInteger());
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("*0\r\n*-1\r\n\n")]
    [InlineData("   \r\n*0\r\n*1\r\n$4\r\nPI")]
    public void Only_empty_requests_then_nothing_whole_is_incomplete(string text)
    {
        Assert.Equal(RespReadStatus.Incomplete, Read(Ascii(text), out SequencePosition consumed, out string? error));

        Assert.Null(error);
        Assert.Equal(0, consumed.GetInteger());
        Assert.Equal(0, _request.Count);
    }

    [Fact]
    public void Skipped_prefix_is_remembered_and_the_request_after_it_completes_later()
    {
        byte[] whole = [.. Ascii(string.Concat(Enumerable.Repeat("\r\n", 1000))), .. Multibulk("ECHO", "done")];

        for (int length = 1990; length < whole.Length; length++)
        {
            Assert.Equal(RespReadStatus.Incomplete, _reader.TryRead(new ReadOnlySequence<byte>(whole, 0, length), _request, out _, out _));
        }

        Assert.Equal(RespReadStatus.Complete, Read(whole, out SequencePosition consumed, out _));
        Assert.Equal(["ECHO", "done"], Strings(_request));
        Assert.Equal(whole.Length, consumed.GetInteger());
    }

    [Fact]
    public void A_dollar_line_without_array_is_an_inline_command_as_in_redis()
    {
        Assert.Equal(RespReadStatus.Complete, Read(Ascii("$3\r\n"), out _, out _));

        Assert.True(_request.IsInline);
        Assert.Equal(["$3"], Strings(_request));
    }

    [Fact]
    public void Every_proper_prefix_of_a_request_is_incomplete()
    {
        byte[] data = Multibulk([Ascii("SET"), Ascii("key"), new byte[300]]);
        for (int length = 0; length < data.Length; length++)
        {
            var status = _reader.TryRead(new ReadOnlySequence<byte>(data, 0, length), new RespRequest(), out SequencePosition consumed, out string? error);
            Assert.True(status == RespReadStatus.Incomplete, $"prefix {length}: {status} {error}");
            Assert.Equal(0, consumed.GetInteger());
        }
    }

    [Fact]
    public void Arguments_of_a_request_in_one_segment_are_slices_of_the_buffer()
    {
        byte[] data = Multibulk("SET", "key", "value");

        Assert.Equal(RespReadStatus.Complete, Read(data, out _, out _));

        Assert.True(MemoryMarshal.TryGetArray(_request.GetMemory(2), out ArraySegment<byte> segment));
        Assert.Same(data, segment.Array);
        Assert.Equal(Array.IndexOf(data, (byte)'v'), segment.Offset);
    }

    [Fact]
    public void A_request_split_across_segments_is_copied_and_read_whole()
    {
        byte[] data = [.. Multibulk("SET", "key", "value"), .. Multibulk("GET", "key")];
        ReadOnlySequence<byte> buffer = Sequences.SplitAt(data, 10);

        Assert.Equal(RespReadStatus.Complete, _reader.TryRead(buffer, _request, out SequencePosition consumed, out _));

        Assert.Equal(["SET", "key", "value"], Strings(_request));
        Assert.True(MemoryMarshal.TryGetArray(_request.GetMemory(0), out ArraySegment<byte> segment));
        Assert.NotSame(data, segment.Array);
        Assert.Equal(Multibulk("SET", "key", "value").Length, buffer.Slice(0, consumed).Length);

        Assert.Equal(RespReadStatus.Complete, _reader.TryRead(buffer.Slice(consumed), _request, out _, out _));
        Assert.Equal(["GET", "key"], Strings(_request));
    }

    [Fact]
    public void Inline_command_split_across_segments_with_quotes_is_read()
    {
        byte[] data = Ascii("SET \"a\\x20b\" 'c'\r\nPING\r\n");
        for (int split = 0; split <= data.Length; split++)
        {
            var (requests, final, _, _) = ReadAll(Sequences.SplitAt(data, split));

            Assert.Equal(RespReadStatus.Incomplete, final);
            Assert.Equal(2, requests.Count);
            Assert.Equal(["SET", "a b", "c"], requests[0].Select(a => System.Text.Encoding.ASCII.GetString(a)));
        }
    }

    [Fact]
    public void Reads_a_large_bulk_from_many_segments_and_from_growing_prefixes()
    {
        byte[] payload = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(payload);
        byte[] data = [.. Multibulk([Ascii("ADD"), Ascii("stream"), payload, payload[..100_000]]), .. Multibulk("PING")];

        var (requests, _, _, _) = ReadAll(Sequences.InPiecesOf(data, 4096));
        Assert.Equal(2, requests.Count);
        Assert.Equal(payload, requests[0][2]);

        // As a pipe delivers it: the same 4 KiB segments from the same start, 16 KiB more each time.
        var request = new RespRequest();
        int firstLength = data.Length - Multibulk("PING").Length;
        ReadOnlySequence<byte> all = Sequences.InPiecesOf(data, 4096);
        long available = 0;
        RespReadStatus status = RespReadStatus.Incomplete;
        SequencePosition end = default;
        while (status == RespReadStatus.Incomplete)
        {
            available = Math.Min(all.Length, available + (16 * 1024));
            status = _reader.TryRead(all.Slice(0, available), request, out end, out _);
        }

        Assert.Equal(RespReadStatus.Complete, status);
        Assert.True(available >= firstLength && available - firstLength < 16 * 1024);
        Assert.Equal(firstLength, all.Slice(0, end).Length);
        Assert.Equal(payload, request[2].ToArray());
        Assert.Equal(payload[..100_000], request[3].ToArray());
    }
}
