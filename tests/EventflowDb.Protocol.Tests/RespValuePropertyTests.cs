using System.Buffers;
using System.Globalization;
using System.Text;
using CsCheck;

namespace EventflowDb.Protocol.Tests;

/// <summary>Random reply trees written with <see cref="RespWriter"/> read back with <see cref="RespValue.TryRead"/>, however the bytes are cut.</summary>
public class RespValuePropertyTests
{
    private static readonly bool[] BothProtocols = [true, false];

    private static readonly Gen<byte[]> LineText =
        Gen.Byte.Where(b => b is not (byte)'\r' and not (byte)'\n').Array[0, 12];

    private static readonly Gen<double> AnyDouble = Gen.Frequency(
        (4, Gen.Double),
        (1, Gen.OneOf(double.PositiveInfinity, double.NegativeInfinity, double.NaN, -0.0, double.Epsilon, double.MaxValue)));

    private static readonly Gen<RespValue> Scalar = Gen.OneOf(
        LineText.Select(text => new RespValue { Type = RespType.SimpleString, Bytes = text }),
        LineText.Select(text => new RespValue { Type = RespType.Error, Bytes = [.. "ERR "u8, .. text] }),
        Gen.Long.Select(number => new RespValue { Type = RespType.Integer, Integer = number }),
        Gen.Byte.Array[0, 30].Select(bytes => new RespValue { Type = RespType.BulkString, Bytes = bytes }),
        Gen.Const(() => new RespValue { Type = RespType.Null }),
        AnyDouble.Select(number => new RespValue { Type = RespType.Double, Bytes = DoubleText(number) }),
        Gen.Bool.Select(truth => new RespValue { Type = RespType.Boolean, Integer = truth ? 1 : 0 }),
        Gen.Select(Gen.OneOf("txt", "mkd"), Gen.Byte.Array[0, 20], (format, bytes) => new RespValue { Type = RespType.VerbatimString, Format = format, Bytes = bytes }),
        Gen.Select(Gen.Bool, Gen.Long, Gen.Int[0, 99999], (negative, high, low) => new RespValue
        {
            Type = RespType.BigNumber,
            Bytes = Encoding.ASCII.GetBytes((negative ? "-" : string.Empty) + ((ulong)high).ToString(CultureInfo.InvariantCulture) + low.ToString("D5", CultureInfo.InvariantCulture)),
        }));

    private static readonly Gen<RespValue> Value = Gen.Recursive<RespValue>((depth, inner) => depth >= 3
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (1, Gen.Select(Gen.OneOf(RespType.Array, RespType.Set, RespType.Push), inner.Array[0, 4], (type, items) => new RespValue { Type = type, Items = items })),
            (1, inner.Array[0, 3].Select(pairs => new RespValue { Type = RespType.Map, Items = pairs.SelectMany(key => new[] { key, key }).ToArray() }))));

    private static byte[] DoubleText(double number) => Encoding.ASCII.GetBytes(
        double.IsNaN(number) ? "nan"
        : double.IsPositiveInfinity(number) ? "inf"
        : double.IsNegativeInfinity(number) ? "-inf"
        : number.ToString("R", CultureInfo.InvariantCulture));

    private static void Write(RespWriter writer, RespValue value)
    {
        switch (value.Type)
        {
            case RespType.SimpleString: writer.WriteSimpleString(value.Bytes); break;
            case RespType.Error: writer.WriteError(value.Bytes); break;
            case RespType.Integer: writer.WriteInteger(value.Integer); break;
            case RespType.BulkString: writer.WriteBulkString(value.Bytes); break;
            case RespType.Null: writer.WriteNull(); break;
            case RespType.Double: writer.WriteDouble(double.Parse(value.Text!.Replace("inf", "Infinity").Replace("nan", "NaN"), CultureInfo.InvariantCulture)); break;
            case RespType.Boolean: writer.WriteBoolean(value.Integer != 0); break;
            case RespType.VerbatimString: writer.WriteVerbatimString(value.Format!, value.Bytes); break;
            case RespType.BigNumber: writer.WriteBigNumber(value.Bytes); break;
            case RespType.Array: writer.WriteArrayHeader(value.Items.Count); break;
            case RespType.Set: writer.WriteSetHeader(value.Items.Count); break;
            case RespType.Push: writer.WritePushHeader(value.Items.Count); break;
            case RespType.Map: writer.WriteMapHeader(value.Items.Count / 2); break;
            default: throw new ArgumentOutOfRangeException(nameof(value), value.Type, null);
        }

        foreach (RespValue item in value.Items)
        {
            Write(writer, item);
        }
    }

    /// <summary>What a RESP2 connection gets for <paramref name="value"/>: the writer's documented equivalents.</summary>
    private static RespValue AsResp2(RespValue value) => value.Type switch
    {
        RespType.Map or RespType.Set or RespType.Push or RespType.Array =>
            new RespValue { Type = RespType.Array, Items = value.Items.Select(AsResp2).ToArray() },
        RespType.Boolean => new RespValue { Type = RespType.Integer, Integer = value.Integer },
        RespType.Double or RespType.VerbatimString or RespType.BigNumber => new RespValue { Type = RespType.BulkString, Bytes = value.Bytes },
        _ => value,
    };

    private static byte[] Encode(RespValue value, bool resp3)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(new RespWriter(output) { Resp3 = resp3 }, value);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Values_round_trip_through_the_writer_in_resp3_and_resp2()
    {
        Value.Sample(value =>
        {
            foreach (bool resp3 in BothProtocols)
            {
                byte[] wire = Encode(value, resp3);
                var buffer = new ReadOnlySequence<byte>(wire);

                Assert.True(RespValue.TryRead(buffer, out RespValue? read, out SequencePosition consumed));
                Assert.Equal(buffer.End, consumed);
                Assert.Equal((resp3 ? value : AsResp2(value)).ToString(), read!.ToString());
            }
        }, iter: 2000);
    }

    [Fact]
    public void A_value_cut_anywhere_is_incomplete_until_whole()
    {
        Gen.Select(Value, Gen.Bool).Sample((value, resp3) =>
        {
            byte[] wire = Encode(value, resp3);
            string expected = (resp3 ? value : AsResp2(value)).ToString();
            for (int length = 0; length < wire.Length; length++)
            {
                Assert.False(RespValue.TryRead(new ReadOnlySequence<byte>(wire, 0, length), out _, out _), $"prefix {length}");

                // The whole value in two segments cut at the same place reads back the same.
                ReadOnlySequence<byte> split = Sequences.SplitAt(wire, length);
                Assert.True(RespValue.TryRead(split, out RespValue? read, out SequencePosition consumed));
                Assert.Equal(split.End, consumed);
                Assert.Equal(expected, read!.ToString());
            }
        }, iter: 300);
    }
}
