using System.Buffers;
using CsCheck;
using static EventflowDb.Protocol.Tests.RequestCodec;

namespace EventflowDb.Protocol.Tests;

/// <summary>Random request streams, cut into pieces every way, must read back as exactly the requests sent.</summary>
public class RespRequestReaderPropertyTests
{
    /// <summary>One frame on the wire and the request it carries (null for an empty request the reader skips).</summary>
    internal sealed record Frame(byte[] Bytes, byte[][]? Arguments)
    {
        public override string ToString() => Arguments is null
            ? $"skipped {Convert.ToHexString(Bytes)}"
            : string.Join(' ', Arguments.Select(Convert.ToHexString));
    }

    private static readonly Gen<byte[]> Argument = Gen.Frequency(
        (4, Gen.Byte.Array[0, 12]),
        (2, Gen.OneOf((byte)'\r', (byte)'\n', (byte)'$', (byte)'*', (byte)'"', (byte)'\'', (byte)' ', (byte)'\\', (byte)0, (byte)'a').Array[0, 8]),
        (1, Gen.Const(Array.Empty<byte>())));

    private static readonly Gen<byte[]> LargeArgument = Gen.Frequency(
        (3, Argument),
        (1, Gen.Int[1000, 5000].Select(length => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray())));

    private static readonly Gen<Frame> EmptyFrame =
        Gen.OneOf("\r\n", "\n", " \t \r\n", "*0\r\n", "*-1\r\n").Select(text => new Frame(Ascii(text), null));

    private static Gen<Frame> FrameOf(Gen<byte[]> argument) => Gen.Frequency(
        (6, argument.Array[1, 6].Select(arguments => new Frame(Multibulk(arguments), arguments))),
        (2, Gen.Select(argument.Array[1, 5], Gen.Bool, (arguments, crlf) => new Frame(QuotedInline(arguments, crlf), arguments))),
        (1, EmptyFrame));

    private static readonly Gen<Frame[]> Stream = FrameOf(Argument).Array[1, 8];

    private static readonly Gen<Frame[]> LargeStream = FrameOf(LargeArgument).Array[1, 4];

    private static byte[] Concat(Frame[] frames) => frames.SelectMany(frame => frame.Bytes).ToArray();

    private static List<byte[][]> Expected(Frame[] frames) =>
        frames.Where(frame => frame.Arguments is not null).Select(frame => frame.Arguments!).ToList();

    private static void AssertSameRequests(List<byte[][]> expected, List<byte[][]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    [Fact]
    public void Stream_split_in_two_at_every_offset_reads_back_the_same_requests()
    {
        Stream.Sample(frames =>
        {
            byte[] data = Concat(frames);
            List<byte[][]> expected = Expected(frames);
            var reader = new RespRequestReader(new RespLimits());
            for (int split = 0; split <= data.Length; split++)
            {
                var (requests, final, error, _) = ReadAll(Sequences.SplitAt(data, split), reader);

                Assert.True(final == RespReadStatus.Incomplete, $"split {split}: {final} {error}");
                AssertSameRequests(expected, requests);
            }
        }, iter: 300);
    }

    [Fact]
    public void Stream_in_random_segments_reads_back_the_same_requests()
    {
        Gen.Select(Stream, Gen.Int[0, 1000].Array[0, 12]).Sample((frames, cutSeeds) =>
        {
            byte[] data = Concat(frames);
            ReadOnlySequence<byte> buffer = Sequences.CutAt(data, cutSeeds.Select(seed => seed % (data.Length + 1)));

            var (requests, final, error, _) = ReadAll(buffer);

            Assert.True(final == RespReadStatus.Incomplete, $"{final} {error}");
            AssertSameRequests(Expected(frames), requests);
        }, iter: 1000);
    }

    [Fact]
    public void Every_prefix_of_a_stream_reads_whole_requests_only_and_never_fails()
    {
        Stream.Sample(frames =>
        {
            byte[] data = Concat(frames);
            List<byte[][]> expected = Expected(frames);
            for (int length = 0; length <= data.Length; length++)
            {
                var (requests, final, error, _) = ReadAll(new ReadOnlySequence<byte>(data, 0, length));

                Assert.True(final == RespReadStatus.Incomplete, $"prefix {length}: {final} {error}");
                Assert.True(requests.Count <= expected.Count);
                AssertSameRequests(expected[..requests.Count], requests);
            }
        }, iter: 200);
    }

    [Fact]
    public void Stream_arriving_in_random_pieces_reads_back_the_same_requests()
    {
        Gen.Select(Stream, Gen.Int[0, 1000].Array[0, 12], Gen.Int[1, 40].Array[1, 30])
            .Sample((frames, cutSeeds, arrivals) => AssertArrivesWhole(frames, cutSeeds, arrivals), iter: 1000);
    }

    [Fact]
    public void Large_arguments_arriving_in_random_pieces_read_back_the_same_requests()
    {
        Gen.Select(LargeStream, Gen.Int[0, 30000].Array[0, 20], Gen.Int[1, 3000].Array[1, 30])
            .Sample((frames, cutSeeds, arrivals) => AssertArrivesWhole(frames, cutSeeds, arrivals), iter: 150);
    }

    /// <summary>
    /// Mirrors the server loop over a pipe: one multi-segment buffer whose end grows as bytes arrive,
    /// read from where the last whole request ended, with one request instance throughout.
    /// </summary>
    private static void AssertArrivesWhole(Frame[] frames, int[] cutSeeds, int[] arrivals)
    {
        byte[] data = Concat(frames);
        ReadOnlySequence<byte> all = Sequences.CutAt(data, cutSeeds.Select(seed => seed % (data.Length + 1)));
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();
        var requests = new List<byte[][]>();
        long consumedOffset = 0;
        long available = 0;
        int step = 0;
        while (available < data.Length)
        {
            available = Math.Min(data.Length, available + arrivals[step++ % arrivals.Length]);
            ReadOnlySequence<byte> buffer = all.Slice(consumedOffset, available - consumedOffset);
            while (true)
            {
                RespReadStatus status = reader.TryRead(buffer, request, out SequencePosition consumed, out string? error);
                if (status == RespReadStatus.Incomplete)
                {
                    break;
                }

                Assert.True(status == RespReadStatus.Complete, error);
                requests.Add(Arguments(request));
                consumedOffset += buffer.Slice(0, consumed).Length;
                buffer = buffer.Slice(consumed);
            }
        }

        AssertSameRequests(Expected(frames), requests);
    }
}
