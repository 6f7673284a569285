using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>GETALL: events of all streams (or of one channel) in log order, strictly after an event id.</summary>
internal sealed class GetAllCommand() : Command("GETALL", -1)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        Ulid after = Ulid.Empty;
        long limit = 0;
        long? block = null;
        string? channel = null;
        if (JsonArgument.IsJsonForm(request))
        {
            var reader = JsonArgument.Open(request[1]);
            while (JsonArgument.NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("offset"u8))
                {
                    JsonArgument.Read(ref reader);
                    after = reader.TokenType == System.Text.Json.JsonTokenType.Null
                        ? Ulid.Empty
                        : Arguments.Offset(Encoding.UTF8.GetBytes(JsonArgument.ReadString(ref reader, "offset")));
                }
                else if (reader.ValueTextEquals("limit"u8))
                {
                    limit = JsonArgument.ReadNonNegative(ref reader, "limit");
                }
                else if (reader.ValueTextEquals("block"u8))
                {
                    block = JsonArgument.ReadBlockMs(ref reader);
                }
                else if (reader.ValueTextEquals("channel"u8))
                {
                    JsonArgument.Read(ref reader);
                    channel = JsonArgument.ReadString(ref reader, "channel");
                }
                else
                {
                    throw JsonArgument.UnknownField(ref reader, "GETALL");
                }
            }
        }
        else
        {
            var (positional, blockMs, channelName) = Arguments.LongPollOptions(request, 1, 2, allowChannel: true, "GETALL [offset] [limit] [CHANNEL channel] [BLOCK ms]");
            after = positional.Count > 0 ? Arguments.Offset(request[positional[0]]) : Ulid.Empty;
            limit = positional.Count > 1 ? Arguments.NonNegative(request, positional[1], "limit") : 0;
            block = blockMs;
            channel = channelName;
        }

        var filter = AllEventsRead.FilterFor(session, channel);
        var read = new AllEventsRead(session.Store, session.Page, filter, EventRules.PageSize(limit, session.Server.Options), AllEventsRead.BudgetFor(filter)) { Cursor = after };
        await LongPoll.ReadAsync(session, block, read, static r => r.NextAsync()).ConfigureAwait(false);
        PageReply.Write(session.Writer, session.Page);
    }
}
