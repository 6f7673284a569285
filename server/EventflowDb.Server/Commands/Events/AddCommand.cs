using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// ADD: appends events atomically to one stream. The reply is left pending until the events are
/// durable, so a pipeline of ADDs shares group commits.
/// </summary>
internal sealed class AddCommand(int maxAppendBytes) : SyncCommand("ADD", -2, CommandFlags.Pipelined)
{
    private static readonly Action<RespWriter, AppendRequest, AppendResult> WriteReply = Write;

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var append = AddRequestParser.Parse(request, maxAppendBytes);
        StreamPermissions.CheckWrite(session, append.Stream);
        session.AddPending(session.Store.AppendAsync(append), append, WriteReply);
    }

    private static void Write(RespWriter writer, AppendRequest request, AppendResult result)
    {
        if (AppendOutcome.Error(request, result) is { } error)
        {
            writer.WriteError(error);
            return;
        }

        writer.WriteArrayHeader(result.Events.Count);
        foreach (var json in result.Events)
        {
            writer.WriteBulkString(json.Span);
        }
    }
}
