using System.Buffers;
using BenchmarkDotNet.Attributes;
using EventflowDb.Protocol;

namespace EventflowDb.Bench.Micro;

/// <summary>Writing replies with the server's writer into a reused buffer: allocates nothing per reply.</summary>
[MemoryDiagnoser]
public class ReplyWritingBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private readonly byte[] _event = System.Text.Encoding.UTF8.GetBytes(
        "{\"id\":\"01JDQ4Z1W8X0Y2A3B4C5D6E7F8\",\"position\":12,\"stream\":\"stream-42\",\"version\":0,\"type\":\"T\",\"data\":{\"a\":1},\"causation_id\":\"01JDQ4Z1W8X0Y2A3B4C5D6E7F8\",\"correlation_id\":\"01JDQ4Z1W8X0Y2A3B4C5D6E7F8\",\"added_at\":\"2026-11-23T20:51:57.123Z\"}");

    private RespWriter _writer = null!;

    [GlobalSetup]
    public void Setup() => _writer = new RespWriter(_output);

    [Benchmark(Description = "ADD reply: array of 1 event")]
    public int WriteAddReply()
    {
        _output.ResetWrittenCount();
        _writer.WriteArrayHeader(1);
        _writer.WriteBulkString(_event);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "GET reply: array of 100 events")]
    public int WriteGet100Reply()
    {
        _output.ResetWrittenCount();
        _writer.WriteArrayHeader(100);
        for (int i = 0; i < 100; i++)
        {
            _writer.WriteBulkString(_event);
        }

        return _output.WrittenCount;
    }

    [Benchmark(Description = "+PONG")]
    public int WritePong()
    {
        _output.ResetWrittenCount();
        _writer.WriteSimpleString("PONG"u8);
        return _output.WrittenCount;
    }
}
