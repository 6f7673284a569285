using System.Net.Sockets;
using System.Text;

namespace EventflowDb.Bench.Resp;

/// <summary>
/// Reads RESP replies from a blocking socket through one buffer: the parts of a reply (type bytes, numbers, lines,
/// bulk strings) and whole values to skip. Each client keeps only what its runs need of a reply.
/// </summary>
internal sealed class RespReader(Socket socket, int bufferBytes)
{
    private readonly byte[] _buffer = new byte[bufferBytes];
    private int _start;
    private int _end;

    public byte ReadByte()
    {
        if (_start == _end)
        {
            Fill();
        }

        return _buffer[_start++];
    }

    /// <summary>Reads the rest of a line holding an integer (a length, a count or an integer reply).</summary>
    public long ReadNumber()
    {
        long value = 0;
        bool negative = false;
        byte b;
        while ((b = ReadByte()) != (byte)'\r')
        {
            if (b == (byte)'-')
            {
                negative = true;
            }
            else if (b is >= (byte)'0' and <= (byte)'9')
            {
                value = (value * 10) + (b - '0');
            }
            else
            {
                throw new InvalidDataException($"Bad RESP number byte {b}");
            }
        }

        ReadByte();
        return negative ? -value : value;
    }

    public void SkipLine()
    {
        while (ReadByte() != (byte)'\n')
        {
        }
    }

    /// <summary>Reads the rest of a line as UTF-8 text, without its CRLF.</summary>
    public string ReadLine()
    {
        var bytes = new List<byte>();
        byte b;
        while ((b = ReadByte()) != (byte)'\n')
        {
            bytes.Add(b);
        }

        int length = bytes.Count > 0 && bytes[^1] == (byte)'\r' ? bytes.Count - 1 : bytes.Count;
        return Encoding.UTF8.GetString(bytes.ToArray(), 0, length);
    }

    /// <summary>
    /// Reads a bulk string's <paramref name="length"/> bytes and its CRLF, copying its first bytes into
    /// <paramref name="head"/> and all of them into <paramref name="whole"/> when given; returns how many went into the head.
    /// </summary>
    public int ReadBulk(int length, Span<byte> head, Stream? whole = null)
    {
        int remaining = length + 2;
        int headLength = 0;
        while (remaining > 0)
        {
            if (_start == _end)
            {
                Fill();
            }

            int chunk = Math.Min(remaining, _end - _start);
            int content = Math.Min(chunk, remaining - 2); // the bytes of this chunk before the trailing CRLF
            if (content > 0)
            {
                int take = Math.Min(content, head.Length - headLength);
                if (take > 0)
                {
                    _buffer.AsSpan(_start, take).CopyTo(head[headLength..]);
                    headLength += take;
                }

                whole?.Write(_buffer, _start, content);
            }

            _start += chunk;
            remaining -= chunk;
        }

        return headLength;
    }

    /// <summary>Skips the rest of a value whose type byte has been read (nested values included).</summary>
    public void SkipValue(byte type)
    {
        switch (type)
        {
            case (byte)'+' or (byte)'-' or (byte)':' or (byte)',' or (byte)'#' or (byte)'(' or (byte)'_':
                SkipLine();
                break;
            case (byte)'$' or (byte)'=' or (byte)'!':
                long n = ReadNumber();
                if (n >= 0)
                {
                    ReadBulk((int)n, default);
                }

                break;
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%':
                long count = ReadNumber();
                long items = type == (byte)'%' ? count * 2 : count;
                for (long i = 0; i < items; i++)
                {
                    SkipValue(ReadByte());
                }

                break;
            default:
                throw new InvalidDataException($"Unexpected RESP type byte {type}");
        }
    }

    private void Fill()
    {
        _start = 0;
        _end = socket.Receive(_buffer);
        if (_end == 0)
        {
            throw new IOException("The server closed the connection.");
        }
    }
}
