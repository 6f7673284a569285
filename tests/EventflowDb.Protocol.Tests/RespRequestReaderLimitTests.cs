using System.Buffers;
using static EventflowDb.Protocol.Tests.RequestCodec;

namespace EventflowDb.Protocol.Tests;

public class RespRequestReaderLimitTests
{
    // Far below what any of the rejected headers would make a naive reader allocate.
    private const long SmallAllocation = 16 * 1024;

    private static (RespReadStatus Status, string? Error, long Allocated) ReadOnce(string text, RespLimits? limits = null) =>
        ReadOnce(Ascii(text), limits);

    private static (RespReadStatus Status, string? Error, long Allocated) ReadOnce(byte[] data, RespLimits? limits = null)
    {
        var reader = new RespRequestReader(limits ?? new RespLimits());
        var request = new RespRequest();
        var buffer = new ReadOnlySequence<byte>(data);

        // Warm up on a valid request so JIT and first-use costs are not counted.
        reader.TryRead(new ReadOnlySequence<byte>(Multibulk("PING")), request, out _, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        RespReadStatus status = reader.TryRead(buffer, request, out SequencePosition consumed, out string? error);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (status != RespReadStatus.Complete)
        {
            Assert.Equal(buffer.Start, consumed);
        }

        return (status, error, allocated);
    }

    [Theory]
    [InlineData("*2000000000\r\n", "invalid multibulk length")]
    [InlineData("*2000000000", "invalid multibulk length")]
    [InlineData("*99999999999999999999999999\r\n", "invalid multibulk length")]
    [InlineData("*1048577\r\n", "invalid multibulk length")]
    [InlineData("*1\r\n$2147483647\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$2147483647", "invalid bulk length")]
    [InlineData("*1\r\n$999999999999\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$67108865\r\n", "invalid bulk length")]
    public void Huge_lengths_are_rejected_without_allocating(string header, string expected)
    {
        var (status, error, allocated) = ReadOnce(header);

        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal(expected, error);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated} bytes");
    }

    [Fact]
    public void The_largest_allowed_bulk_is_awaited_without_allocating()
    {
        var (status, _, allocated) = ReadOnce("*1\r\n$67108864\r\nabc");

        Assert.Equal(RespReadStatus.Incomplete, status);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Argument_count_over_the_limit_is_rejected()
    {
        var limits = new RespLimits { MaxArguments = 3 };

        Assert.Equal(RespReadStatus.Complete, ReadOnce(Multibulk("a", "b", "c"), limits).Status);
        var (status, error, _) = ReadOnce(Multibulk("a", "b", "c", "d"), limits);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("invalid multibulk length", error);

        var inline = ReadOnce("a b c d\r\n", limits);
        Assert.Equal(RespReadStatus.ProtocolError, inline.Status);
        Assert.Equal("too many arguments in inline request", inline.Error);
    }

    [Fact]
    public void Bulk_over_the_limit_is_rejected_at_its_header()
    {
        var limits = new RespLimits { MaxBulkLength = 10 };

        Assert.Equal(RespReadStatus.Complete, ReadOnce(Multibulk("0123456789"), limits).Status);
        var (status, error, _) = ReadOnce("*1\r\n$11\r\n", limits);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("invalid bulk length", error);
    }

    [Fact]
    public void Request_over_the_byte_limit_is_rejected_before_its_data_arrives()
    {
        byte[] allowed = Multibulk("SET", "key", "0123456789");
        var limits = new RespLimits { MaxRequestBytes = allowed.Length };

        Assert.Equal(RespReadStatus.Complete, ReadOnce(allowed, limits).Status);

        var tooBig = ReadOnce("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$11\r\n", limits);
        Assert.Equal(RespReadStatus.ProtocolError, tooBig.Status);
        Assert.Equal("request exceeds the maximum request size", tooBig.Error);

        // Enough arguments promised that even empty ones could not fit.
        var tooMany = ReadOnce($"*{allowed.Length / 6}\r\n", limits);
        Assert.Equal(RespReadStatus.ProtocolError, tooMany.Status);
    }

    [Fact]
    public void Inline_line_over_the_limit_is_rejected_with_or_without_its_newline()
    {
        var limits = new RespLimits { MaxInlineLength = 16 };

        Assert.Equal(RespReadStatus.Complete, ReadOnce(new string('a', 16) + "\r\n", limits).Status);
        Assert.Equal(RespReadStatus.Complete, ReadOnce(new string('a', 16) + "\n", limits).Status);
        Assert.Equal(RespReadStatus.Incomplete, ReadOnce(new string('a', 17), limits).Status);

        foreach (string text in new[] { new string('a', 17) + "\r\n", new string('a', 17) + "\n", new string('a', 18) })
        {
            var (status, error, _) = ReadOnce(text, limits);
            Assert.Equal(RespReadStatus.ProtocolError, status);
            Assert.Equal("too big inline request", error);
        }
    }

    [Fact]
    public void Default_inline_limit_stops_an_endless_line_without_a_huge_allocation()
    {
        var (status, error, allocated) = ReadOnce(new byte[1024 * 1024]);

        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("too big inline request", error);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData("*1\r\n:5\r\n", "expected '$', got ':'")]
    [InlineData("*2\r\n$4\r\nECHO\r\n+hi\r\n", "expected '$', got '+'")]
    [InlineData("*1\r\n\r\n", "expected '$', got '\\x0d'")]
    [InlineData("*abc\r\n", "invalid multibulk length")]
    [InlineData("*-2\r\n", "invalid multibulk length")]
    [InlineData("*-0\r\n", "invalid multibulk length")]
    [InlineData("*01\r\n", "invalid multibulk length")]
    [InlineData("*+1\r\n", "invalid multibulk length")]
    [InlineData("* 1\r\n", "invalid multibulk length")]
    [InlineData("*1 \r\n", "invalid multibulk length")]
    [InlineData("*\r\n", "invalid multibulk length")]
    [InlineData("*1\n", "invalid multibulk length")]
    [InlineData("*1\rx", "invalid multibulk length")]
    [InlineData("*1\r\n$-1\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$-5\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$abc\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$03\r\nabc\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$3\nabc\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$3\r\nabcde", "expected CRLF after bulk data")]
    [InlineData("*1\r\n$3\r\nabc\n\r", "expected CRLF after bulk data")]
    [InlineData("*2\r\n$3\r\nabc\r\r$1\r\nx\r\n", "expected CRLF after bulk data")]
    public void Malformed_requests_are_protocol_errors(string text, string expected)
    {
        var (status, error, _) = ReadOnce(text);

        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void An_error_after_good_requests_is_reported_when_reached()
    {
        byte[] data = [.. Multibulk("PING"), .. Ascii("*1\r\n$x\r\n")];

        var (requests, final, error, unconsumed) = ReadAll(data);

        Assert.Single(requests);
        Assert.Equal(RespReadStatus.ProtocolError, final);
        Assert.Equal("invalid bulk length", error);
        Assert.Equal(8, unconsumed);
    }

    [Fact]
    public void Limits_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespRequestReader(new RespLimits { MaxArguments = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespRequestReader(new RespLimits { MaxBulkLength = -1 }));
        Assert.Throws<ArgumentNullException>(() => new RespRequestReader(null!));
    }

    [Fact]
    public void An_inline_argument_over_the_bulk_limit_is_rejected()
    {
        var limits = new RespLimits { MaxBulkLength = 4 };

        Assert.Equal(RespReadStatus.Complete, ReadOnce("abcd efgh\r\n", limits).Status);
        var (status, error, _) = ReadOnce("abcd efghi\r\n", limits);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("too big inline request", error);
    }

    [Theory]
    [InlineData("*11\r\n")]
    [InlineData("*2\r\n$4\r\nAUTH\r\n$17")]
    [InlineData("*2\r\n$4\r\nAUTH\r\n$17000\r\n")]
    [InlineData("*10\r\n$16\r\n0123456789abcdef\r\n$16\r\n")]
    [InlineData("a b c d e f g h i j k\r\n")]
    [InlineData("a 01234567890123456789\r\n")]
    [InlineData("012345678901234567890123456789012345678901234567890123456789")]
    public void A_limit_error_replaces_the_specific_error_of_every_limit(string text)
    {
        var limits = new RespLimits { MaxArguments = 10, MaxBulkLength = 16, MaxInlineLength = 48, MaxRequestBytes = 64, LimitError = "request too large" };

        var (status, error, _) = ReadOnce(text, limits);

        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("request too large", error);
    }

    [Theory]
    [InlineData("*-2\r\n", "invalid multibulk length")]
    [InlineData("*1\r\n$-2\r\n", "invalid bulk length")]
    [InlineData("*1x\r\n", "invalid multibulk length")]
    [InlineData("a \"b\r\n", "unbalanced quotes in request")]
    public void A_limit_error_leaves_malformed_requests_their_own_error(string text, string expected)
    {
        var limits = new RespLimits { MaxArguments = 10, MaxBulkLength = 16, LimitError = "request too large" };

        Assert.Equal(expected, ReadOnce(text, limits).Error);
    }
}
