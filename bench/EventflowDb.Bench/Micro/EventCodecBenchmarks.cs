using BenchmarkDotNet.Attributes;
using EventflowDb.Storage;

namespace EventflowDb.Bench.Micro;

/// <summary>Encoding an event (its JSON and its log record) and decoding a log record.</summary>
[MemoryDiagnoser]
public class EventCodecBenchmarks
{
    private readonly ByteBuffer _json = new(4096);
    private readonly byte[] _record = new byte[4096];
    private readonly UInt128 _id = new(0x0193_6F2A_1B2C_3D4E, 0x5F60_7182_93A4_B5C6);
    private readonly NewEvent _event = new() { Type = "Deposited", Data = "{\"amount\":10,\"currency\":\"EUR\"}"u8.ToArray(), MessageId = "deposit-42" };
    private readonly byte[] _messageId = "deposit-42"u8.ToArray();
    private readonly ByteBuffer _common = new(256);
    private int _quotedStreamLength;
    private int _recordSize;

    [GlobalSetup]
    public void Setup()
    {
        // What the writer renders once per ADD: the stream name as a JSON string, then the timestamp.
        EventflowDb.Storage.EventJsonWriter.WriteString(_common, "account-42");
        _quotedStreamLength = _common.Length;
        EventflowDb.Storage.EventJsonWriter.WriteTimestamp(_common, 1_763_000_000_000);
        _recordSize = EncodeRecord();
    }

    [Benchmark(Description = "event JSON encode")]
    public int EncodeJson()
    {
        _json.Clear();
        var common = _common.WrittenSpan;
        EventflowDb.Storage.EventJsonWriter.WriteEvent(_json, _id, 123_456, common[.._quotedStreamLength], 7, _event, _id, _id, common[_quotedStreamLength..]);
        return _json.Length;
    }

    [Benchmark(Description = "event JSON + log record encode")]
    public int EncodeRecord()
    {
        int length = EncodeJson();
        return LogEntryFormat.WriteEvent(_record, _id, _messageId, _json.WrittenSpan[..length]);
    }

    [Benchmark(Description = "log record decode")]
    public int DecodeRecord()
    {
        var record = new EventRecord(_record.AsSpan(0, _recordSize), 0);
        return record.Json.Length + record.MessageId.Length + (int)(record.Id & 1);
    }
}
