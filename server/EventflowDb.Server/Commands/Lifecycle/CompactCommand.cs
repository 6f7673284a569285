using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>
/// COMPACT: runs one compaction now (SPEC "Stream lifecycle, snapshots and forgetting") and replies when it is done with
/// <c>[bytes before, bytes after]</c>, what the data directory occupied on disk. After it, no byte of the data or metadata
/// of a forgotten stream remains in the log's sealed pages. Reads, appends and subscriptions of other connections go on.
/// </summary>
internal sealed class CompactCommand() : Command("COMPACT", 1)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        Storage.CompactionResult result;
        try
        {
            result = await session.Store.CompactAsync(session.Closing).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            session.Server.Logger.Error(e, "Compaction requested by client {ClientId} {Remote} failed", session.Id, session.Remote);
            throw CommandException.Syntax($"compaction failed: {e.Message}");
        }

        var writer = session.Writer;
        writer.WriteArrayHeader(2);
        writer.WriteInteger(result.BytesBefore);
        writer.WriteInteger(result.BytesAfter);
    }
}
