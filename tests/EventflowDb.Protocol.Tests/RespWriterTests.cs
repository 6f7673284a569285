using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace EventflowDb.Protocol.Tests;

public class RespWriterTests
{
    private static string Written(bool resp3, Action<RespWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(new RespWriter(output) { Resp3 = resp3 });
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    private static RespValue ReadBack(bool resp3, Action<RespWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(new RespWriter(output) { Resp3 = resp3 });
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(RespValue.TryRead(buffer, out RespValue? value, out SequencePosition consumed));
        Assert.Equal(buffer.End, consumed);
        return value!;
    }

    public static TheoryData<string, string, string> EveryType => new()
    {
        // Writer call, RESP2 bytes, RESP3 bytes.
        { "ok", "+OK\r\n", "+OK\r\n" },
        { "simple", "+hello\r\n", "+hello\r\n" },
        { "error", "-ERR bad thing\r\n", "-ERR bad thing\r\n" },
        { "integer", ":-42\r\n", ":-42\r\n" },
        { "min integer", ":-9223372036854775808\r\n", ":-9223372036854775808\r\n" },
        { "bulk", "$5\r\nhe\r\no\r\n", "$5\r\nhe\r\no\r\n" },
        { "empty bulk", "$0\r\n\r\n", "$0\r\n\r\n" },
        { "utf8 bulk", "$3\r\nd\u00c3\u00a9\r\n", "$3\r\nd\u00c3\u00a9\r\n" },
        { "number bulk", "$4\r\n-120\r\n", "$4\r\n-120\r\n" },
        { "null", "$-1\r\n", "_\r\n" },
        { "null array", "*-1\r\n", "_\r\n" },
        { "array", "*3\r\n", "*3\r\n" },
        { "map", "*4\r\n", "%2\r\n" },
        { "set", "*3\r\n", "~3\r\n" },
        { "push", "*3\r\n", ">3\r\n" },
        { "double", "$3\r\n1.5\r\n", ",1.5\r\n" },
        { "integral double", "$1\r\n3\r\n", ",3\r\n" },
        { "big double", "$5\r\n1E+20\r\n", ",1E+20\r\n" },
        { "inf", "$3\r\ninf\r\n", ",inf\r\n" },
        { "-inf", "$4\r\n-inf\r\n", ",-inf\r\n" },
        { "nan", "$3\r\nnan\r\n", ",nan\r\n" },
        { "true", ":1\r\n", "#t\r\n" },
        { "false", ":0\r\n", "#f\r\n" },
        { "verbatim", "$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n" },
        { "big number", "$21\r\n-12345678901234567890\r\n", "(-12345678901234567890\r\n" },
        { "raw", "+RAW\r\n", "+RAW\r\n" },
    };

    private static void WriteSample(RespWriter writer, string kind)
    {
        switch (kind)
        {
            case "ok": writer.WriteOk(); break;
            case "simple": writer.WriteSimpleString("hello"); break;
            case "error": writer.WriteError("ERR bad thing"); break;
            case "integer": writer.WriteInteger(-42); break;
            case "min integer": writer.WriteInteger(long.MinValue); break;
            case "bulk": writer.WriteBulkString("he\r\no"u8); break;
            case "empty bulk": writer.WriteBulkString(string.Empty); break;
            case "utf8 bulk": writer.WriteBulkString("d\u00e9"); break;
            case "number bulk": writer.WriteBulkString(-120); break;
            case "null": writer.WriteNull(); break;
            case "null array": writer.WriteNullArray(); break;
            case "array": writer.WriteArrayHeader(3); break;
            case "map": writer.WriteMapHeader(2); break;
            case "set": writer.WriteSetHeader(3); break;
            case "push": writer.WritePushHeader(3); break;
            case "double": writer.WriteDouble(1.5); break;
            case "integral double": writer.WriteDouble(3.0); break;
            case "big double": writer.WriteDouble(1e20); break;
            case "inf": writer.WriteDouble(double.PositiveInfinity); break;
            case "-inf": writer.WriteDouble(double.NegativeInfinity); break;
            case "nan": writer.WriteDouble(double.NaN); break;
            case "true": writer.WriteBoolean(true); break;
            case "false": writer.WriteBoolean(false); break;
            case "verbatim": writer.WriteVerbatimString("txt", "hello"u8); break;
            case "big number": writer.WriteBigNumber("-12345678901234567890"u8); break;
            case "raw": writer.WriteRaw("+RAW\r\n"u8); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    [Theory]
    [MemberData(nameof(EveryType))]
    public void Writes_every_type_in_resp2_and_resp3(string kind, string resp2, string resp3)
    {
        Assert.Equal(resp2, Written(resp3: false, writer => WriteSample(writer, kind)));
        Assert.Equal(resp3, Written(resp3: true, writer => WriteSample(writer, kind)));
    }

    [Fact]
    public void Error_and_simple_string_newlines_become_spaces()
    {
        Assert.Equal("-ERR one two  three\r\n", Written(false, w => w.WriteError("ERR one\ntwo\r\nthree")));
        Assert.Equal("-ERR a b\r\n", Written(false, w => w.WriteError("ERR a\rb"u8)));
        Assert.Equal("+a b\r\n", Written(true, w => w.WriteSimpleString("a\nb")));
        Assert.Equal("+a b\r\n", Written(true, w => w.WriteSimpleString("a\rb"u8)));
    }

    [Fact]
    public void Resp3_types_read_back_as_themselves()
    {
        Assert.Equal("{+a: (integer) 1}", ReadBack(true, w => { w.WriteMapHeader(1); w.WriteSimpleString("a"); w.WriteInteger(1); }).ToString());
        Assert.Equal("(set) [\"x\"]", ReadBack(true, w => { w.WriteSetHeader(1); w.WriteBulkString("x"); }).ToString());
        Assert.Equal("(push) [\"message\"]", ReadBack(true, w => { w.WritePushHeader(1); w.WriteBulkString("message"); }).ToString());
        Assert.Equal("(double) -inf", ReadBack(true, w => w.WriteDouble(double.NegativeInfinity)).ToString());
        Assert.Equal("(true)", ReadBack(true, w => w.WriteBoolean(true)).ToString());
        Assert.Equal("(verbatim mkd) \"# hi\"", ReadBack(true, w => w.WriteVerbatimString("mkd", "# hi"u8)).ToString());
        Assert.Equal("(big number) 123", ReadBack(true, w => w.WriteBigNumber("123"u8)).ToString());
        Assert.Equal("(nil)", ReadBack(true, w => w.WriteNull()).ToString());
        Assert.Equal("(nil)", ReadBack(true, w => w.WriteNullArray()).ToString());
    }

    [Fact]
    public void Resp2_equivalents_read_back_as_resp2_types()
    {
        Assert.Equal("[+a, (integer) 1]", ReadBack(false, w => { w.WriteMapHeader(1); w.WriteSimpleString("a"); w.WriteInteger(1); }).ToString());
        Assert.Equal("[\"x\"]", ReadBack(false, w => { w.WriteSetHeader(1); w.WriteBulkString("x"); }).ToString());
        Assert.Equal("[\"message\"]", ReadBack(false, w => { w.WritePushHeader(1); w.WriteBulkString("message"); }).ToString());
        Assert.Equal("\"2.25\"", ReadBack(false, w => w.WriteDouble(2.25)).ToString());
        Assert.Equal("(integer) 0", ReadBack(false, w => w.WriteBoolean(false)).ToString());
        Assert.Equal("\"# hi\"", ReadBack(false, w => w.WriteVerbatimString("mkd", "# hi"u8)).ToString());
        Assert.Equal("\"123\"", ReadBack(false, w => w.WriteBigNumber("123"u8)).ToString());
        Assert.Equal("(nil)", ReadBack(false, w => w.WriteNull()).ToString());
        Assert.Equal("(nil)", ReadBack(false, w => w.WriteNullArray()).ToString());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(-0.0)]
    [InlineData(double.MaxValue)]
    [InlineData(double.Epsilon)]
    [InlineData(-123456.789e-300)]
    public void Doubles_round_trip_exactly(double value)
    {
        RespValue read = ReadBack(true, w => w.WriteDouble(value));

        Assert.Equal(RespType.Double, read.Type);
        Assert.Equal(value, double.Parse(read.Text!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Invalid_verbatim_format_and_big_number_and_counts_are_rejected()
    {
        var writer = new RespWriter(new ArrayBufferWriter<byte>()) { Resp3 = true };

        Assert.Throws<ArgumentException>(() => writer.WriteVerbatimString("text", "x"u8));
        Assert.Throws<ArgumentException>(() => writer.WriteVerbatimString("t\r\n", "x"u8));
        Assert.Throws<ArgumentException>(() => writer.WriteBigNumber("12a"u8));
        Assert.Throws<ArgumentException>(() => writer.WriteBigNumber("-"u8));
        Assert.Throws<ArgumentException>(() => writer.WriteBigNumber(""u8));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteArrayHeader(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteMapHeader(-1));
    }

    [Fact]
    public void Large_values_are_written_in_small_pieces()
    {
        byte[] payload = new byte[5 * 1024 * 1024];
        new Random(11).NextBytes(payload);
        string text = string.Concat(Enumerable.Repeat("h\u00e9llo \U0001F600 w\u00f6rld\n", 40_000));
        var output = new StingyBufferWriter();
        var writer = new RespWriter(output) { Resp3 = true };

        writer.WriteBulkString(payload);
        writer.WriteBulkString(text);
        writer.WriteError("ERR " + text);
        writer.WriteSimpleString(text);
        writer.WriteVerbatimString("txt", payload);
        writer.WriteRaw(payload);

        Assert.True(output.LargestRequest <= 16 * 1024, $"asked for {output.LargestRequest} bytes at once");
        var buffer = new ReadOnlySequence<byte>(output.Written.WrittenMemory);
        RespValue Next()
        {
            Assert.True(RespValue.TryRead(buffer, out RespValue? value, out SequencePosition consumed));
            buffer = buffer.Slice(consumed);
            return value!;
        }

        Assert.Equal(payload, Next().Bytes);
        Assert.Equal(text, Next().Text);
        Assert.Equal("ERR " + text.Replace('\n', ' '), Next().Text);
        Assert.Equal(text.Replace('\n', ' '), Next().Text);
        RespValue verbatim = Next();
        Assert.Equal("txt", verbatim.Format);
        Assert.Equal(payload, verbatim.Bytes);
        Assert.Equal(payload, buffer.ToArray());
    }

    [Fact]
    public async Task Writes_a_large_bulk_into_a_pipe()
    {
        byte[] payload = new byte[3 * 1024 * 1024];
        new Random(5).NextBytes(payload);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var writer = new RespWriter(pipe.Writer);

        writer.WriteArrayHeader(2);
        writer.WriteBulkString(payload);
        writer.WriteBulkString("tail");
        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();

        ReadResult result = await pipe.Reader.ReadAsync();
        while (!result.IsCompleted)
        {
            pipe.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await pipe.Reader.ReadAsync();
        }

        Assert.True(RespValue.TryRead(result.Buffer, out RespValue? value, out SequencePosition consumed));
        Assert.Equal(result.Buffer.End, consumed);
        Assert.Equal(payload, value!.Items[0].Bytes);
        Assert.Equal("tail", value.Items[1].Text);
        pipe.Reader.AdvanceTo(consumed);
    }

    [Fact]
    public void Writing_replies_allocates_nothing()
    {
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        var writer = new RespWriter(output);

        void WriteReplies()
        {
            output.ResetWrittenCount();
            for (int resp = 2; resp <= 3; resp++)
            {
                writer.Resp3 = resp == 3;
                writer.WriteOk();
                writer.WriteError("ERR something\nwent wrong");
                writer.WriteSimpleString("PONG");
                writer.WriteInteger(123456789);
                writer.WriteBulkString("value"u8);
                writer.WriteBulkString("stream-1");
                writer.WriteBulkString(42);
                writer.WriteNull();
                writer.WriteNullArray();
                writer.WriteMapHeader(1);
                writer.WriteSetHeader(1);
                writer.WritePushHeader(3);
                writer.WriteArrayHeader(2);
                writer.WriteDouble(3.14159);
                writer.WriteBoolean(true);
                writer.WriteVerbatimString("txt", "info"u8);
                writer.WriteBigNumber("1234567890123456789012"u8);
            }
        }

        WriteReplies();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            WriteReplies();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Gives out exactly as much as asked for (at least one byte), as a tight output buffer might.</summary>
    private sealed class StingyBufferWriter : IBufferWriter<byte>
    {
        private byte[] _current = [];

        public ArrayBufferWriter<byte> Written { get; } = new();

        public int LargestRequest { get; private set; }

        public void Advance(int count) => Written.Write(_current.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            LargestRequest = Math.Max(LargestRequest, sizeHint);
            _current = new byte[Math.Max(sizeHint, 1)];
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
