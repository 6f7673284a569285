using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// A minimal blocking RESP client for the load generator: sends prepared requests and skips over
/// replies, remembering only what the scenarios need (array sizes, the last top-level bulk string).
/// </summary>
internal sealed class RespConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;
    private int _arraysSeen;

    public RespConnection(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect("127.0.0.1", port);
    }

    /// <summary>Sizes of the first three arrays met in the last reply (-1 when absent).</summary>
    public int[] ArraySizes { get; } = new int[3];

    /// <summary>Start of the last top-level element when it was a bulk string (up to 64 bytes).</summary>
    public byte[] LastBulk { get; } = new byte[64];

    public int LastBulkLength { get; private set; }

    /// <summary>Number of error replies seen.</summary>
    public long Errors { get; private set; }

    public string? LastError { get; private set; }

    public static byte[] Encode(params string[] args)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
        foreach (var a in args)
        {
            text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public void Send(byte[] request)
    {
        int sent = 0;
        while (sent < request.Length)
        {
            sent += _socket.Send(request, sent, request.Length - sent, SocketFlags.None);
        }
    }

    /// <summary>Reads one complete reply.</summary>
    public void ReadReply()
    {
        ArraySizes[0] = ArraySizes[1] = ArraySizes[2] = -1;
        _arraysSeen = 0;
        LastBulkLength = 0;
        Skip(depth: 0);
    }

    /// <summary>Sends a request and reads <paramref name="replies"/> replies.</summary>
    public void Call(byte[] request, int replies = 1)
    {
        Send(request);
        for (int i = 0; i < replies; i++)
        {
            ReadReply();
        }
    }

    /// <summary>Sends a request whose reply is an integer and returns it.</summary>
    public long CallInteger(byte[] request)
    {
        Send(request);
        byte type = ReadByte();
        if (type != (byte)':')
        {
            throw new InvalidDataException($"Expected an integer reply, got '{(char)type}'");
        }

        return ReadNumber();
    }

    public void Dispose() => _socket.Dispose();

    private void Skip(int depth)
    {
        byte type = ReadByte();
        switch (type)
        {
            case (byte)'+':
            case (byte)':':
            case (byte)',':
            case (byte)'#':
            case (byte)'(':
            case (byte)'_':
                SkipLine();
                break;
            case (byte)'-':
                Errors++;
                LastError = ReadLineText();
                break;
            case (byte)'$':
            case (byte)'=':
            case (byte)'!':
                {
                    long length = ReadNumber();
                    if (length >= 0)
                    {
                        SkipBulk((int)length, capture: depth == 1);
                    }

                    break;
                }

            case (byte)'*':
            case (byte)'~':
            case (byte)'>':
            case (byte)'%':
                {
                    long count = ReadNumber();
                    if (_arraysSeen < ArraySizes.Length)
                    {
                        ArraySizes[_arraysSeen] = (int)count;
                    }

                    _arraysSeen++;
                    long items = type == (byte)'%' ? count * 2 : count;
                    for (long i = 0; i < items; i++)
                    {
                        Skip(depth + 1);
                    }

                    break;
                }

            default:
                throw new InvalidDataException($"Unexpected RESP type byte {type}");
        }
    }

    private void SkipBulk(int length, bool capture)
    {
        int remaining = length + 2;
        int captured = 0;
        while (remaining > 0)
        {
            if (_start == _end)
            {
                Fill();
            }

            int chunk = Math.Min(remaining, _end - _start);
            if (capture && captured < LastBulk.Length)
            {
                int take = Math.Min(chunk, LastBulk.Length - captured);
                _buffer.AsSpan(_start, take).CopyTo(LastBulk.AsSpan(captured));
                captured += take;
            }

            _start += chunk;
            remaining -= chunk;
        }

        if (capture)
        {
            LastBulkLength = Math.Min(captured, length);
        }
    }

    private long ReadNumber()
    {
        long value = 0;
        bool negative = false;
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'-')
            {
                negative = true;
            }
            else if (b == (byte)'\r')
            {
                ReadByte();
                return negative ? -value : value;
            }
            else
            {
                value = (value * 10) + (b - '0');
            }
        }
    }

    private void SkipLine()
    {
        while (ReadByte() != (byte)'\n')
        {
        }
    }

    private string ReadLineText()
    {
        var bytes = new List<byte>();
        byte b;
        while ((b = ReadByte()) != (byte)'\n')
        {
            if (b != (byte)'\r')
            {
                bytes.Add(b);
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
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
        _end = _socket.Receive(_buffer);
        if (_end == 0)
        {
            throw new IOException("The server closed the connection.");
        }
    }
}
