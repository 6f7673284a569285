using System.Buffers;
using System.IO.Pipelines;
using static EventflowDb.Protocol.Tests.RequestCodec;

namespace EventflowDb.Protocol.Tests;

/// <summary>The reader as the server drives it: no allocation per request, and pipes delivering data in pieces.</summary>
public class RespRequestReaderSteadyStateTests
{
    [Fact]
    public void Reading_pipelined_requests_allocates_nothing_per_request()
    {
        byte[] one = [.. Multibulk("SET", "key:0001", "some value"), .. Multibulk("GET", "key:0001"), .. Ascii("PING\r\n")];
        byte[] data = Enumerable.Repeat(one, 300).SelectMany(bytes => bytes).ToArray();
        var buffer = new ReadOnlySequence<byte>(data);
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();

        // Also dispatches on the command name and parses a number, as the server would.
        int ReadAllOnce()
        {
            int count = 0;
            ReadOnlySequence<byte> rest = buffer;
            while (reader.TryRead(rest, request, out SequencePosition consumed, out _) == RespReadStatus.Complete)
            {
                if (request.EqualsIgnoreCase(0, "GET"u8) && !request.TryGetInt64(1, out _))
                {
                    count++;
                }

                rest = rest.Slice(consumed);
            }

            return count;
        }

        for (int warmUp = 0; warmUp < 50; warmUp++)
        {
            ReadAllOnce();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int requests = 0;
        for (int round = 0; round < 20; round++)
        {
            requests += ReadAllOnce();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(20 * 300, requests);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Requests_split_across_segments_allocate_nothing_once_scratch_has_grown()
    {
        byte[] one = Multibulk("ADD", "stream", new string('x', 100));
        byte[] data = Enumerable.Repeat(one, 100).SelectMany(bytes => bytes).ToArray();

        // 61-byte segments: nearly every request straddles two of them.
        ReadOnlySequence<byte> buffer = Sequences.InPiecesOf(data, 61);
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();

        int ReadAllOnce()
        {
            int count = 0;
            ReadOnlySequence<byte> rest = buffer;
            while (reader.TryRead(rest, request, out SequencePosition consumed, out _) == RespReadStatus.Complete)
            {
                count++;
                rest = rest.Slice(consumed);
            }

            return count;
        }

        for (int warmUp = 0; warmUp < 20; warmUp++)
        {
            ReadAllOnce();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int requests = ReadAllOnce() + ReadAllOnce();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(200, requests);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Reads_requests_from_a_pipe_fed_in_small_writes()
    {
        byte[] big = new byte[200_000];
        new Random(3).NextBytes(big);
        byte[] data = [.. Multibulk([Ascii("ADD"), big, big[..5000]]), .. Ascii("\r\nPING\r\n*0\r\n"), .. Multibulk("ECHO", "end")];
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 512, pauseWriterThreshold: 0));
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();
        var requests = new List<byte[][]>();

        Task writing = Task.Run(async () =>
        {
            foreach (byte[] piece in data.Chunk(777))
            {
                await pipe.Writer.WriteAsync(piece);
            }

            await pipe.Writer.CompleteAsync();
        });

        while (true)
        {
            ReadResult result = await pipe.Reader.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            while (reader.TryRead(buffer, request, out SequencePosition consumed, out string? error) is var status && status != RespReadStatus.Incomplete)
            {
                Assert.True(status == RespReadStatus.Complete, error);
                requests.Add(Arguments(request));
                buffer = buffer.Slice(consumed);
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await writing;
        Assert.Equal(3, requests.Count);
        Assert.Equal(big, requests[0][1]);
        Assert.Equal(big[..5000], requests[0][2]);
        Assert.Equal(["PING"], requests[1].Select(a => System.Text.Encoding.ASCII.GetString(a)));
        Assert.Equal(["ECHO", "end"], requests[2].Select(a => System.Text.Encoding.ASCII.GetString(a)));
    }

    [Fact]
    public void Trimming_returns_a_grown_scratch_buffer_and_reading_still_works()
    {
        byte[] data = Multibulk([Ascii("ADD"), new byte[300_000]]);
        var reader = new RespRequestReader(new RespLimits());
        var request = new RespRequest();
        Assert.Equal(RespReadStatus.Complete, reader.TryRead(Sequences.InPiecesOf(data, 4096), request, out _, out _));
        Assert.True(request.Scratch.Length >= 300_000);

        request.TrimExcess();

        Assert.Empty(request.Scratch);
        Assert.Equal(0, request.Count);
        Assert.Equal(RespReadStatus.Complete, reader.TryRead(Sequences.InPiecesOf(data, 4096), request, out _, out _));
        Assert.Equal(300_000, request[1].Length);
    }
}
