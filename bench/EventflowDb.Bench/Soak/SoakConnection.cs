using System.Net.Sockets;
using System.Text;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// A small blocking RESP client for the soak's load: sends raw requests, reads one reply at a time and keeps only what
/// the load needs (see <see cref="Reply"/>). A reply slower than the receive timeout throws, so a hung server stops a
/// worker instead of hanging the run.
/// </summary>
internal sealed class SoakConnection : IDisposable
{
    private const int HeadBytes = 64;
    private readonly RespReader _reader;
    private readonly byte[] _head = new byte[HeadBytes];
    private MemoryStream? _bulk;

    public SoakConnection(int port, TimeSpan? receiveTimeout = null)
    {
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Socket.ReceiveTimeout = (int)(receiveTimeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds;
        Socket.SendTimeout = 30_000;
        Socket.Connect("127.0.0.1", port);
        _reader = new RespReader(Socket, 64 * 1024);
    }

    public Socket Socket { get; }

    public void Send(byte[] request) => Socket.Send(request);

    /// <summary>Sends a request and reads its reply.</summary>
    public Reply Call(byte[] request)
    {
        Send(request);
        return ReadReply();
    }

    /// <summary>Reads one complete reply (a push frame counts as one).</summary>
    public Reply ReadReply(bool keepBulk = false)
    {
        _bulk = keepBulk ? new MemoryStream() : null;
        byte type = _reader.ReadByte();
        var reply = type switch
        {
            (byte)'-' => new Reply(ReplyKind.Error, _reader.ReadLine(), 0, 0, null),
            (byte)'+' => new Reply(ReplyKind.Simple, _reader.ReadLine(), 0, 0, null),
            (byte)':' => new Reply(ReplyKind.Integer, null, _reader.ReadNumber(), 0, null),
            (byte)'$' => ReadTopBulk(),
            (byte)'*' or (byte)'>' => ReadTopArray(),
            (byte)'_' => ReadNull(),
            _ => throw new InvalidDataException($"Unexpected RESP type byte {type}"),
        };
        _bulk = null;
        return reply;
    }

    /// <summary>True when the server closes the connection within <paramref name="wait"/> (whatever it sends first is skipped).</summary>
    public bool WaitClosed(TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        var discarded = new byte[64 * 1024];
        Socket.ReceiveTimeout = 200;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (Socket.Receive(discarded) == 0)
                {
                    return true;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
            catch (SocketException)
            {
                return true; // reset
            }
        }

        return false;
    }

    public void Dispose() => Socket.Dispose();

    private Reply ReadNull()
    {
        _reader.SkipLine();
        return new Reply(ReplyKind.Null, null, 0, 0, null);
    }

    private Reply ReadTopBulk()
    {
        long length = _reader.ReadNumber();
        if (length < 0)
        {
            return new Reply(ReplyKind.Null, null, 0, 0, null);
        }

        int headLength = _reader.ReadBulk((int)length, _head, _bulk);
        string text = _bulk is { } b ? Encoding.UTF8.GetString(b.ToArray()) : Encoding.UTF8.GetString(_head, 0, headLength);
        return new Reply(ReplyKind.Bulk, text, 0, 0, null);
    }

    private Reply ReadTopArray()
    {
        long count = _reader.ReadNumber();
        string? lastHead = null;
        for (long i = 0; i < count; i++)
        {
            byte t = _reader.ReadByte();
            if (t == (byte)'$')
            {
                long n = _reader.ReadNumber();
                if (n >= 0)
                {
                    int headLength = _reader.ReadBulk((int)n, _head, _bulk);
                    lastHead = Encoding.UTF8.GetString(_head, 0, headLength);
                }
            }
            else
            {
                _reader.SkipValue(t);
                lastHead = null;
            }
        }

        return new Reply(ReplyKind.Array, null, 0, (int)Math.Max(count, -1), lastHead);
    }
}

internal enum ReplyKind
{
    Simple,
    Error,
    Integer,
    Bulk,
    Array,
    Null,
}

/// <summary>
/// One reply: its kind; the text of a simple string, error or top-level bulk string (only its first 64 bytes unless
/// asked for all); the integer; the element count of an array or push frame and the first 64 bytes of its last bulk
/// string (an event JSON starts with its id, a message frame ends with its payload).
/// </summary>
internal readonly record struct Reply(ReplyKind Kind, string? Text, long Integer, int Count, string? LastHead)
{
    public bool IsError => Kind == ReplyKind.Error;

    /// <summary>The id of the event whose JSON <see cref="LastHead"/> starts (<c>{"id":"&lt;ULID&gt;"</c>), or null.</summary>
    public string? LastEventId => LastHead is { Length: >= 33 } h && h.StartsWith("{\"id\":\"", StringComparison.Ordinal) ? h.Substring(7, 26) : null;
}
