using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EventflowDb.Protocol;

namespace EventflowDb.Bench.Chaos;

/// <summary>A minimal asynchronous RESP connection to one member, with time-outs on every read.</summary>
internal sealed class ChaosClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private ChaosClient(Socket socket) => _socket = socket;

    public static async Task<ChaosClient> ConnectAsync(int port, TimeSpan timeout, CancellationToken token = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        cts.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"connect to {port} timed out");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ChaosClient(socket);
    }

    /// <summary>One command on a fresh connection.</summary>
    public static async Task<RespValue> CommandAsync(int port, TimeSpan timeout, params string[] args)
    {
        await using var c = await ConnectAsync(port, timeout).ConfigureAwait(false);
        await c.SendAsync(args).ConfigureAwait(false);
        return await c.ReadAsync(timeout).ConfigureAwait(false);
    }

    public async Task SendAsync(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (string a in args)
        {
            sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(sb.ToString());
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None).ConfigureAwait(false);
        }
    }

    /// <summary>The next reply; <see cref="TimeoutException"/> after <paramref name="timeout"/>, <see cref="EndOfStreamException"/> on close.</summary>
    public async Task<RespValue> ReadAsync(TimeSpan? timeout, CancellationToken token = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (timeout is { } t)
        {
            cts.CancelAfter(t);
        }

        while (true)
        {
            if (_end > _start)
            {
                var pending = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
                if (RespValue.TryRead(pending, out var value, out var consumed))
                {
                    _start += (int)pending.Slice(0, consumed).Length;
                    return value!;
                }
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int n;
            try
            {
                n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new TimeoutException("no reply in time");
            }

            if (n == 0)
            {
                throw new EndOfStreamException("connection closed");
            }

            _end += n;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class RespValues
{
    public static bool IsError(this RespValue v) => v.Type is RespType.Error or RespType.BulkError;

    public static string Describe(this RespValue? v)
    {
        if (v is null)
        {
            return "(none)";
        }

        string s = v.ToString();
        return s.Length > 300 ? s[..300] + "..." : s;
    }
}
