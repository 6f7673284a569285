using System.Net.Sockets;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// A minimal blocking RESP client for the load generator: sends prepared requests and skips over
/// replies, remembering only what the scenarios need (array sizes, the last top-level bulk string).
/// </summary>
internal sealed class RespConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly RespReader _reader;
    private int _arraysSeen;

    public RespConnection(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect("127.0.0.1", port);
        _reader = new RespReader(_socket, 256 * 1024);
    }

    /// <summary>Sizes of the first three arrays met in the last reply (-1 when absent).</summary>
    public int[] ArraySizes { get; } = new int[3];

    /// <summary>Start of the last top-level element when it was a bulk string (up to 64 bytes).</summary>
    public byte[] LastBulk { get; } = new byte[64];

    public int LastBulkLength { get; private set; }

    /// <summary>Number of error replies seen.</summary>
    public long Errors { get; private set; }

    public string? LastError { get; private set; }

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
        byte type = _reader.ReadByte();
        if (type != (byte)':')
        {
            throw new InvalidDataException($"Expected an integer reply, got '{(char)type}'");
        }

        return _reader.ReadNumber();
    }

    /// <summary>Sends a request whose reply is an array of integers and strings (BACKUP's) and returns them as text; an error reply throws.</summary>
    public List<string> CallStrings(byte[] request)
    {
        Send(request);
        byte type = _reader.ReadByte();
        if (type == (byte)'-')
        {
            throw new InvalidOperationException(_reader.ReadLine());
        }

        if (type != (byte)'*')
        {
            throw new InvalidDataException($"Expected an array reply, got '{(char)type}'");
        }

        long count = _reader.ReadNumber();
        var items = new List<string>();
        for (long i = 0; i < count; i++)
        {
            byte item = _reader.ReadByte();
            switch (item)
            {
                case (byte)':':
                    items.Add(_reader.ReadNumber().ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case (byte)'+':
                    items.Add(_reader.ReadLine());
                    break;
                case (byte)'$':
                    {
                        var bytes = new byte[_reader.ReadNumber()];
                        _reader.ReadBulk(bytes.Length, bytes);
                        items.Add(System.Text.Encoding.UTF8.GetString(bytes));
                        break;
                    }

                default:
                    throw new InvalidDataException($"Unexpected RESP type byte {item} in an array of strings");
            }
        }

        return items;
    }

    public void Dispose() => _socket.Dispose();

    private void Skip(int depth)
    {
        byte type = _reader.ReadByte();
        switch (type)
        {
            case (byte)'+':
            case (byte)':':
            case (byte)',':
            case (byte)'#':
            case (byte)'(':
            case (byte)'_':
                _reader.SkipLine();
                break;
            case (byte)'-':
                Errors++;
                LastError = _reader.ReadLine();
                break;
            case (byte)'$':
            case (byte)'=':
            case (byte)'!':
                {
                    long length = _reader.ReadNumber();
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
                    long count = _reader.ReadNumber();
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
        int captured = _reader.ReadBulk(length, capture ? LastBulk : default);
        if (capture)
        {
            LastBulkLength = captured;
        }
    }
}
