using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>GETALL: events of all streams (or of one channel) in log order, strictly after an event id.</summary>
internal sealed class GetAllCommand() : Command("GETALL", -1)
{
    /// <summary>
    /// Most events one filtered GETALL examines: the scan skips non-matching events but must not turn one
    /// request into a read of the whole log.
    /// </summary>
    private const int FilterScanBudget = 100_000;

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

        IEventFilter? filter = null;
        if (channel is not null && channel != EventChannels.All)
        {
            filter = EventChannels.Parse(channel);
        }

        StreamPermissions.CheckChannel(session, channel);
        filter = ReadRightsFilter.OneRead(session.User, filter);

        var read = new AllRead(session, filter, EventRules.PageSize(limit, session.Server.Options)) { Cursor = after };
        await LongPoll.ReadAsync(session, block, read, static r => r.NextAsync()).ConfigureAwait(false);
        PageReply.Write(session.Writer, session.Page);
    }

    /// <summary>
    /// One GETALL's reads. With a filter, the cursor moves past non-matching events already examined, so a
    /// blocking read that wakes up scans only what was committed since, and the scan budget spans the request.
    /// </summary>
    private sealed class AllRead(ClientSession session, IEventFilter? filter, int limit)
    {
        private int _scanned;

        public Ulid Cursor { get; set; }

        public async ValueTask<int> NextAsync()
        {
            var page = session.Page;
            if (filter is null)
            {
                return await session.Store.ReadAllAsync(Cursor, limit, page).ConfigureAwait(false);
            }

            var progress = await session.Store.ReadAllAsync(Cursor, limit, page, filter, Math.Max(0, FilterScanBudget - _scanned)).ConfigureAwait(false);
            _scanned += progress.Scanned;
            if (progress.Count == 0)
            {
                Cursor = progress.LastScanned;
            }

            // Budget spent with nothing found: answer the empty page now instead of waiting.
            return progress.Count == 0 && _scanned >= FilterScanBudget ? -1 : progress.Count;
        }
    }
}
