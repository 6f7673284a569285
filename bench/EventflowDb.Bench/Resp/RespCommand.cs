using System.Text;

namespace EventflowDb.Bench.Resp;

/// <summary>Requests in RESP form (an array of bulk strings), as the bench's clients send them.</summary>
internal static class RespCommand
{
    public static byte[] Encode(params string[] args) => Encode(args.Select(a => Encoding.UTF8.GetBytes(a)).ToArray());

    /// <summary>From raw argument bytes, which may be invalid UTF-8 (the soak's bad requests).</summary>
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

    private static void Ascii(MemoryStream stream, string text) => stream.Write(Encoding.ASCII.GetBytes(text));
}
