using System.Net;
using System.Net.Sockets;
using System.Text;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// The receive side of a connection is bounded: while a session cannot read (its request blocks, or it waits on a
/// commit) the server stops taking bytes from the socket after about a mebibyte, so a fast sender fills the kernel's
/// buffers, not the server's memory. Requests larger than that still arrive whole, split anywhere, pipelined or not.
/// </summary>
public sealed class ReceiveBufferTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task A_client_that_sends_while_its_request_blocks_cannot_make_the_server_buffer_what_it_sends()
    {
        var server = await StartServerAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = 64 * 1024 };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        long rssBefore = OutputProbe.ResidentBytes(server.ProcessId);

        // The session waits 6 s on this long-poll; behind it, 32 MiB of pipelined PINGs.
        await OutputProbe.SendAllAsync(socket, OutputProbe.Request("GET", Unique("quiet"), "0", "10", "BLOCK", "6000"));
        byte[] pings = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("PING\r\n", (int)MiB / 6)));
        const int Chunks = 32;
        long sent = 0;
        var sender = Task.Run(async () =>
        {
            for (int i = 0; i < Chunks; i++)
            {
                await OutputProbe.SendAllAsync(socket, pings);
                Interlocked.Add(ref sent, pings.Length);
            }
        });

        long peak = rssBefore;
        for (int i = 0; i < 60; i++)
        {
            await Task.Delay(50);
            peak = Math.Max(peak, OutputProbe.ResidentBytes(server.ProcessId));
        }

        long sentWhileBlocked = Interlocked.Read(ref sent);
        TestOutput.WriteLine($"sent {sentWhileBlocked / MiB} MiB while the session was blocked; RSS {rssBefore / MiB} MiB before, peak {peak / MiB} MiB");
        Assert.False(sender.IsCompleted, "all 32 MiB were taken while the session could not read them");
        Assert.True(sentWhileBlocked < 20 * MiB, $"{sentWhileBlocked / MiB} MiB taken from a client whose session was blocked");
        Assert.True(peak - rssBefore < 24 * MiB, $"RSS grew from {rssBefore / MiB} to {peak / MiB} MiB");

        // Nothing was lost: the long-poll times out empty, then every PING is answered, in order.
        var reading = ReadExactlyAsync(socket, "*0\r\n"u8.Length + ((long)Chunks * (pings.Length / 6) * "+PONG\r\n"u8.Length));
        await sender;
        byte[] replies = await reading;
        Assert.Equal("*0\r\n", Encoding.ASCII.GetString(replies, 0, 4));
        Assert.True(IsOnlyPongs(replies.AsSpan(4)), "a reply other than +PONG");
        await using var check = await server.OpenRawAsync();
        Assert.Equal("PONG", (await check.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task Requests_larger_than_the_receive_buffer_arrive_whole_pipelined_and_trickled()
    {
        var server = await StartServerAsync();
        string stream = Unique("large");
        string[] data = [Json(3 * (int)MiB, 'a'), Json(2 * (int)MiB, 'b'), Json(300 * 1024, 'c'), Json(10, 'd')];

        // Three large ADDs (the largest just under the default --max-event-bytes), a small one and a PING in one write.
        await using (var c = await server.OpenRawAsync())
        {
            byte[] pipeline = [.. data.SelectMany(d => RespConnection.Encode("ADD", stream, "any", "Big", d)), .. RespConnection.Encode("PING")];
            await c.SendAsync(pipeline);
            var replies = await c.ReadRepliesAsync(data.Length + 1, TimeSpan.FromSeconds(60));
            Assert.All(replies.Take(data.Length), r => Assert.False(r.IsError(), RespText.Describe(r)));
            Assert.Equal("PONG", replies[^1].Str());
        }

        // One more, sent in 100 KiB pieces with pauses, then read back with the rest.
        string trickled = Json((int)(3.5 * MiB), 'e');
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
            byte[] request = [.. RespConnection.Encode("ADD", stream, "any", "Big", trickled), .. RespConnection.Encode("PING")];
            for (int offset = 0; offset < request.Length; offset += 100 * 1024)
            {
                await OutputProbe.SendAllAsync(socket, request.AsMemory(offset, Math.Min(100 * 1024, request.Length - offset)));
                await Task.Delay(2);
            }

            string tail = Encoding.ASCII.GetString(await ReadUntilAsync(socket, "+PONG\r\n"u8.ToArray()));
            Assert.True(tail.StartsWith('*'), $"the trickled ADD was answered with {tail[..Math.Min(200, tail.Length)]}");
        }

        await using var reader = await server.OpenRawAsync();
        var events = await reader.EventsAsync("GET", stream, "0", "10");
        Assert.Equal([.. data, trickled], events.Select(e => e.Data.GetRawText()));
    }

    private static string Json(int bytes, char fill) => $$"""{"pad":"{{new string(fill, bytes)}}"}""";

    private static bool IsOnlyPongs(ReadOnlySpan<byte> replies)
    {
        for (int i = 0; i < replies.Length; i += 7)
        {
            if (!replies.Slice(i, 7).SequenceEqual("+PONG\r\n"u8))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, long length)
    {
        var all = new byte[length];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int read = 0;
        while (read < length)
        {
            int n = await socket.ReceiveAsync(all.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, $"closed after {read} of {length} bytes");
            read += n;
        }

        return all;
    }

    private static async Task<byte[]> ReadUntilAsync(Socket socket, byte[] end)
    {
        var all = new List<byte>();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (all.Count < end.Length || !all[^end.Length..].SequenceEqual(end))
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "closed before the reply");
            all.AddRange(buffer.AsSpan(0, n));
        }

        return [.. all];
    }
}
