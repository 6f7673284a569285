using System.Buffers;
using System.Text;

namespace EventflowDb.Protocol.Tests;

/// <summary>Encodes requests as a client would send them, and reads them all back with <see cref="RespRequestReader"/>.</summary>
internal static class RequestCodec
{
    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>A RESP array of bulk strings.</summary>
    public static byte[] Multibulk(params byte[][] arguments)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(Ascii($"*{arguments.Length}\r\n"));
        foreach (byte[] argument in arguments)
        {
            output.Write(Ascii($"${argument.Length}\r\n"));
            output.Write(argument);
            output.Write("\r\n"u8);
        }

        return output.WrittenSpan.ToArray();
    }

    public static byte[] Multibulk(params string[] arguments) =>
        Multibulk(arguments.Select(Encoding.UTF8.GetBytes).ToArray());

    /// <summary>An inline command with every argument double-quoted and every byte outside printable ASCII escaped.</summary>
    public static byte[] QuotedInline(byte[][] arguments, bool crlf)
    {
        var line = new StringBuilder();
        foreach (byte[] argument in arguments)
        {
            line.Append(line.Length > 0 ? " \"" : "\"");
            foreach (byte b in argument)
            {
                line.Append(b switch
                {
                    (byte)'"' => "\\\"",
                    (byte)'\\' => "\\\\",
                    (byte)'\n' => "\\n",
                    (byte)'\r' => "\\r",
                    (byte)'\t' => "\\t",
                    >= 0x20 and < 0x7F => ((char)b).ToString(),
                    _ => $"\\x{b:x2}",
                });
            }

            line.Append('"');
        }

        line.Append(crlf ? "\r\n" : "\n");
        return Ascii(line.ToString());
    }

    public static string[] Strings(RespRequest request) =>
        Enumerable.Range(0, request.Count).Select(request.GetString).ToArray();

    public static byte[][] Arguments(RespRequest request) =>
        Enumerable.Range(0, request.Count).Select(i => request[i].ToArray()).ToArray();

    /// <summary>Reads every whole request, as the server loop does; returns them and the status that ended the loop.</summary>
    public static (List<byte[][]> Requests, RespReadStatus Final, string? Error, long Unconsumed) ReadAll(
        ReadOnlySequence<byte> buffer, RespRequestReader? reader = null, RespRequest? request = null)
    {
        reader ??= new RespRequestReader(new RespLimits());
        request ??= new RespRequest();
        var requests = new List<byte[][]>();
        while (true)
        {
            RespReadStatus status = reader.TryRead(buffer, request, out SequencePosition consumed, out string? error);
            if (status != RespReadStatus.Complete)
            {
                Assert.Equal(buffer.Start, consumed);
                return (requests, status, error, buffer.Length);
            }

            requests.Add(Arguments(request));
            buffer = buffer.Slice(consumed);
        }
    }

    public static (List<byte[][]> Requests, RespReadStatus Final, string? Error, long Unconsumed) ReadAll(byte[] data, RespLimits? limits = null) =>
        ReadAll(new ReadOnlySequence<byte>(data), new RespRequestReader(limits ?? new RespLimits()));
}
