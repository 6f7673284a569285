using System.Buffers;
using BenchmarkDotNet.Attributes;
using EventflowDb.Bench.Compare;
using EventflowDb.Bench.Resp;
using EventflowDb.Protocol;

namespace EventflowDb.Bench.Micro;

/// <summary>Parsing pipelined requests with the server's reader: allocates nothing per command.</summary>
[MemoryDiagnoser]
public class RespParsingBenchmarks
{
    private const int Commands = 16;
    private readonly RespRequestReader _reader = new(new RespLimits());
    private readonly RespRequest _request = new();
    private ReadOnlySequence<byte> _add;
    private ReadOnlySequence<byte> _ping;

    [GlobalSetup]
    public void Setup()
    {
        _add = Repeat(RespCommand.Encode("ADD", "stream-42", "any", "T", "{\"a\":1}"));
        _ping = Repeat(RespCommand.Encode("PING"));
        ParsePipeline(_add); // warm the request's argument array
    }

    [Benchmark(OperationsPerInvoke = Commands, Description = "parse ADD (positional), per command")]
    public int ParseAdd() => ParsePipeline(_add);

    [Benchmark(OperationsPerInvoke = Commands, Description = "parse PING, per command")]
    public int ParsePing() => ParsePipeline(_ping);

    private static ReadOnlySequence<byte> Repeat(byte[] command)
    {
        var bytes = new byte[command.Length * Commands];
        for (int i = 0; i < Commands; i++)
        {
            command.CopyTo(bytes, i * command.Length);
        }

        return new ReadOnlySequence<byte>(bytes);
    }

    private int ParsePipeline(ReadOnlySequence<byte> buffer)
    {
        int arguments = 0;
        while (_reader.TryRead(buffer, _request, out var consumed, out _) == RespReadStatus.Complete)
        {
            arguments += _request.Count;
            buffer = buffer.Slice(consumed);
        }

        return arguments;
    }
}
