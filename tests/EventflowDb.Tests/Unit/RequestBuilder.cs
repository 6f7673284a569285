using System.Buffers;
using System.Text;
using EventflowDb.Protocol;

namespace EventflowDb.Tests.Unit;

/// <summary>Builds a parsed <see cref="RespRequest"/> the way the server gets one: RESP bytes through the real reader.</summary>
internal static class RequestBuilder
{
    public static RespRequest Parse(params string[] args)
    {
        var resp = new StringBuilder();
        resp.Append('*').Append(args.Length).Append("\r\n");
        foreach (string arg in args)
        {
            resp.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        var request = new RespRequest();
        var reader = new RespRequestReader(new RespLimits());
        var status = reader.TryRead(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(resp.ToString())), request, out _, out string? error);
        Assert.True(status == RespReadStatus.Complete, error);
        return request;
    }
}
