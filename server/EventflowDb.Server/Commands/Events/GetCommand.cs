using System.Text;
using System.Text.Json;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands.Events;

/// <summary>GET: events of one stream from a version on, oldest first.</summary>
internal sealed class GetCommand() : Command("GET", -2)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        ReadOnlyMemory<byte> stream;
        long version = 0;
        long limit = 0;
        long? block;
        if (JsonArgument.IsJsonForm(request))
        {
            (stream, version, limit, block) = ParseJson(request[1]);
        }
        else
        {
            var (positional, blockMs, _) = Arguments.LongPollOptions(request, 2, 2, allowChannel: false, "GET <stream> [version] [limit] [BLOCK ms]");
            stream = request.GetMemory(1);
            version = positional.Count > 0 ? Arguments.NonNegative(request, positional[0], "version") : 0;
            limit = positional.Count > 1 ? Arguments.NonNegative(request, positional[1], "limit") : 0;
            block = blockMs;
        }

        EventRules.ValidateStream(stream.Span);
        StreamPermissions.CheckRead(session, stream.Span);
        var read = new StreamRead(session, stream, version, EventRules.PageSize(limit, session.Server.Options));
        await LongPoll.ReadAsync(session, block, read, static r => r.Session.Store.ReadStreamAsync(r.Stream, r.Version, r.Limit, r.Session.Page)).ConfigureAwait(false);
        PageReply.Write(session.Writer, session.Page);
    }

    private readonly record struct StreamRead(ClientSession Session, ReadOnlyMemory<byte> Stream, long Version, int Limit);

    private static (ReadOnlyMemory<byte> Stream, long Version, long Limit, long? Block) ParseJson(ReadOnlySpan<byte> json)
    {
        var reader = JsonArgument.Open(json);
        string? stream = null;
        long version = 0;
        long limit = 0;
        long? block = null;
        while (JsonArgument.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("stream"u8))
            {
                JsonArgument.Read(ref reader);
                stream = JsonArgument.ReadString(ref reader, "stream");
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                version = JsonArgument.ReadNonNegative(ref reader, "version");
            }
            else if (reader.ValueTextEquals("limit"u8))
            {
                limit = JsonArgument.ReadNonNegative(ref reader, "limit");
            }
            else if (reader.ValueTextEquals("block"u8))
            {
                block = JsonArgument.ReadBlockMs(ref reader);
            }
            else
            {
                throw JsonArgument.UnknownField(ref reader, "GET");
            }
        }

        return stream is null
            ? throw CommandException.Invalid("stream is required")
            : (Encoding.UTF8.GetBytes(stream), version, limit, block);
    }
}
