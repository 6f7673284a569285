using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands.Events;

/// <summary>LISTSTREAMS: stream summaries in creation order, paged by skip and limit.</summary>
internal sealed class ListStreamsCommand() : SyncCommand("LISTSTREAMS", -1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        long skip = 0;
        long limit = 0;
        if (JsonArgument.IsJsonForm(request))
        {
            var reader = JsonArgument.Open(request[1]);
            while (JsonArgument.NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("skip"u8))
                {
                    skip = JsonArgument.ReadNonNegative(ref reader, "skip");
                }
                else if (reader.ValueTextEquals("limit"u8))
                {
                    limit = JsonArgument.ReadNonNegative(ref reader, "limit");
                }
                else
                {
                    throw JsonArgument.UnknownField(ref reader, "LISTSTREAMS");
                }
            }
        }
        else
        {
            if (request.Count > 3)
            {
                throw CommandException.Syntax("syntax error: LISTSTREAMS [skip] [limit]");
            }

            skip = request.Count > 1 ? Arguments.NonNegative(request, 1, "skip") : 0;
            limit = request.Count > 2 ? Arguments.NonNegative(request, 2, "limit") : 0;
        }

        // It names every stream, so a user limited to some streams may not list them (SPEC leaves this open; see README).
        StreamPermissions.CheckReadsAll(session, "*");
        var page = session.Page;
        page.Clear();
        session.Store.ListStreams(skip, EventRules.PageSize(limit, session.Server.Options), page);
        PageReply.Write(session.Writer, page);
    }
}
