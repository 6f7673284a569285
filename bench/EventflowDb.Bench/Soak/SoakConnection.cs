using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// A small blocking RESP client for the soak's load: sends raw requests, reads one reply at a time and keeps only what
/// the load needs (see <see cref="Reply"/>). A reply slower than the receive timeout throws, so a hung server stops a
/// worker instead of hanging the run.
/// </summary>
internal sealed class SoakConnection : IDisposable
{
    private const int HeadBytes = 64;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly byte[] _head = new byte[HeadBytes];
    private int _start;
    private int _end;
    private int _headLength;
    private MemoryStream? _bulk;

    public SoakConnection(int port, TimeSpan? receiveTimeout = null)
    {
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Socket.ReceiveTimeout = (int)(receiveTimeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds;
        Socket.SendTimeout = 30_000;
        Socket.Connect("127.0.0.1", port);
    }

    public Socket Socket { get; }

    /// <summary>One request in RESP form (bulk strings).</summary>
    public static byte[] Encode(params string[] args) => Encode(args.Select(a => Encoding.UTF8.GetBytes(a)).ToArray());

    /// <summary>One request in RESP form from raw argument bytes (which may be invalid UTF-8).</summary>
    public static byte[] Encode(params byte[][] args)
    {
        using var request = new MemoryStream();
        Ascii(request, $"*{args.Length}\r\n");
        foreach (var a in args)
        {
            Ascii(request, $"${a.Length}\r\n");
            request.Write(a);
            request.Write("\r\n"u8);
        }

        return request.ToArray();
    }

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
        _headLength = 0;
        _bulk = keepBulk ? new MemoryStream() : null;
        byte type = ReadByte();
        var reply = type switch
        {
            (byte)'-' => new Reply(ReplyKind.Error, ReadLine(), 0, 0, null),
            (byte)'+' => new Reply(ReplyKind.Simple, ReadLine(), 0, 0, null),
            (byte)':' => new Reply(ReplyKind.Integer, null, ReadNumber(), 0, null),
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
        Socket.ReceiveTimeout = 200;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (Socket.Receive(_buffer) == 0)
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

    private static void Ascii(MemoryStream stream, string text) => stream.Write(Encoding.ASCII.GetBytes(text));

    private Reply ReadNull()
    {
        ReadLine();
        return new Reply(ReplyKind.Null, null, 0, 0, null);
    }

    private Reply ReadTopBulk()
    {
        long length = ReadNumber();
        if (length < 0)
        {
            return new Reply(ReplyKind.Null, null, 0, 0, null);
        }

        SkipBulk((int)length, capture: true);
        string text = _bulk is { } b ? Encoding.UTF8.GetString(b.ToArray()) : Encoding.UTF8.GetString(_head, 0, _headLength);
        return new Reply(ReplyKind.Bulk, text, 0, 0, null);
    }

    private Reply ReadTopArray()
    {
        long count = ReadNumber();
        string? lastHead = null;
        for (long i = 0; i < count; i++)
        {
            _headLength = 0;
            byte t = ReadByte();
            if (t == (byte)'$')
            {
                long n = ReadNumber();
                if (n >= 0)
                {
                    SkipBulk((int)n, capture: true);
                    lastHead = Encoding.UTF8.GetString(_head, 0, _headLength);
                }
            }
            else
            {
                SkipRest(t);
                lastHead = null;
            }
        }

        return new Reply(ReplyKind.Array, null, 0, (int)Math.Max(count, -1), lastHead);
    }

    private void SkipRest(byte type)
    {
        switch (type)
        {
            case (byte)'+' or (byte)'-' or (byte)':' or (byte)',' or (byte)'#' or (byte)'(' or (byte)'_':
                ReadLine();
                break;
            case (byte)'$' or (byte)'=' or (byte)'!':
                long n = ReadNumber();
                if (n >= 0)
                {
                    SkipBulk((int)n, capture: false);
                }

                break;
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%':
                long count = ReadNumber();
                long items = type == (byte)'%' ? count * 2 : count;
                for (long i = 0; i < items; i++)
                {
                    SkipRest(ReadByte());
                }

                break;
            default:
                throw new InvalidDataException($"Unexpected RESP type byte {type}");
        }
    }

    private void SkipBulk(int length, bool capture)
    {
        int remaining = length + 2;
        while (remaining > 0)
        {
            if (_start == _end)
            {
                Fill();
            }

            int chunk = Math.Min(remaining, _end - _start);
            int content = Math.Min(chunk, remaining - 2); // the bytes of this chunk before the trailing CRLF
            if (capture && content > 0)
            {
                int take = Math.Min(content, HeadBytes - _headLength);
                if (take > 0)
                {
                    _buffer.AsSpan(_start, take).CopyTo(_head.AsSpan(_headLength));
                    _headLength += take;
                }

                _bulk?.Write(_buffer, _start, content);
            }

            _start += chunk;
            remaining -= chunk;
        }
    }

    private long ReadNumber()
    {
        string line = ReadLine();
        return long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new InvalidDataException($"Bad RESP length '{line}'");
    }

    private string ReadLine()
    {
        var text = new StringBuilder();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n')
            {
                return text.ToString().TrimEnd('\r');
            }

            text.Append((char)b);
        }
    }

    private byte ReadByte()
    {
        if (_start == _end)
        {
            Fill();
        }

        return _buffer[_start++];
    }

    private void Fill()
    {
        _start = 0;
        _end = Socket.Receive(_buffer);
        if (_end == 0)
        {
            throw new IOException("The server closed the connection.");
        }
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
