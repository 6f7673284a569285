using System.Text;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Events;

/// <summary>GET: events of one stream from a version on, oldest first.</summary>
internal sealed class GetCommand() : Command("GET", -2)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        ReadOnlyMemory<byte> stream;
        long version = 0;
        long limit = 0;
        if (JsonArgument.IsJsonForm(request))
        {
            (stream, version, limit) = ParseJson(request[1]);
        }
        else
        {
            if (request.Count > 4)
            {
                throw CommandException.Syntax("syntax error: GET <stream> [version] [limit]");
            }

            stream = request.GetMemory(1);
            version = request.Count > 2 ? EventRules.NonNegative(request, 2, "version") : 0;
            limit = request.Count > 3 ? EventRules.NonNegative(request, 3, "limit") : 0;
        }

        EventRules.ValidateStream(stream.Span);
        var page = session.Page;
        page.Clear();
        await session.Store.ReadStreamAsync(stream, version, EventRules.PageSize(limit, session.Server.Options), page).ConfigureAwait(false);
        PageReply.Write(session.Writer, page);
    }

    private static (ReadOnlyMemory<byte> Stream, long Version, long Limit) ParseJson(ReadOnlySpan<byte> json)
    {
        var reader = JsonArgument.Open(json);
        string? stream = null;
        long version = 0;
        long limit = 0;
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("stream"u8))
            {
                JsonArgument.Read(ref reader);
                stream = JsonArgument.ReadString(ref reader, "stream");
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                JsonArgument.Read(ref reader);
                version = EventRules.NonNegative(JsonArgument.ReadInt64(ref reader, "version"), "version");
            }
            else if (reader.ValueTextEquals("limit"u8))
            {
                JsonArgument.Read(ref reader);
                limit = EventRules.NonNegative(JsonArgument.ReadInt64(ref reader, "limit"), "limit");
            }
            else
            {
                throw JsonArgument.UnknownField(ref reader, "GET");
            }
        }

        return stream is null
            ? throw CommandException.Invalid("stream is required")
            : (Encoding.UTF8.GetBytes(stream), version, limit);
    }
}
