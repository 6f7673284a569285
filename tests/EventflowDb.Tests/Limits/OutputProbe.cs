using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Limits;

/// <summary>Helpers of the output-limit tests: raw clients that never read, INFO fields, the server's memory.</summary>
internal static class OutputProbe
{
    /// <summary>A raw socket with a small receive buffer that sends <paramref name="requests"/> and never reads.</summary>
    public static async Task<Socket> OpenNonReaderAsync(ServerProcess server, params byte[][] requests)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 64 * 1024 };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        foreach (var request in requests)
        {
            await SendAllAsync(socket, request);
        }

        return socket;
    }

    /// <summary>Sends every byte.</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            int sent = await socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    /// <summary>One field of INFO (all sections) as a number.</summary>
    public static async Task<long> InfoFieldAsync(RespConnection c, string field)
    {
        string info = (await c.CommandAsync("INFO", "everything")).Str();
        foreach (string line in info.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"INFO has no field {field}:\n{info}");
    }

    /// <summary>Polls INFO until <paramref name="field"/> satisfies <paramref name="condition"/>; returns the last value.</summary>
    public static async Task<long> WaitForInfoAsync(RespConnection c, string field, Func<long, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            long value = await InfoFieldAsync(c, field);
            if (condition(value) || clock.Elapsed > timeout)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The resident memory of a process in bytes (/proc/&lt;pid&gt;/status VmRSS).</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS");
    }

    /// <summary>True when the server closed <paramref name="socket"/> (EOF or reset) within <paramref name="timeout"/>, discarding what it still sends.</summary>
    public static async Task<bool> ClosedByServerAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[256 * 1024];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A JSON string of about <paramref name="bytes"/> bytes as event data.</summary>
    public static string Data(int bytes, int i) => $$"""{"i":{{i}},"pad":"{{new string('p', bytes)}}"}""";

    /// <summary>Appends <paramref name="count"/> events of about <paramref name="bytes"/> each to <paramref name="stream"/>, pipelined.</summary>
    public static async Task AppendAsync(RespConnection c, string stream, int count, int bytes)
    {
        // Few at a time: the replies echo the events, and this client reads them only after sending its batch.
        int batch = Math.Clamp(400_000 / bytes, 1, 20);
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            var pipeline = Enumerable.Range(start, n).SelectMany(i => RespConnection.Encode("ADD", stream, "any", "Big", Data(bytes, i))).ToArray();
            await c.SendAsync(pipeline);
            foreach (var reply in await c.ReadRepliesAsync(n))
            {
                Assert.False(reply.IsError(), RespText.Describe(reply));
            }
        }
    }

    /// <summary>UTF-8 RESP request.</summary>
    public static byte[] Request(params string[] args) => RespConnection.Encode(args);

    /// <summary>Many copies of one request in one buffer.</summary>
    public static byte[] Repeat(byte[] request, int times)
    {
        var all = new byte[request.Length * times];
        for (int i = 0; i < times; i++)
        {
            request.CopyTo(all, i * request.Length);
        }

        return all;
    }

    /// <summary>UTF-8 bytes.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
