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
        switch (result.Status)
        {
            case AppendStatus.Appended:
            case AppendStatus.Duplicate:
                writer.WriteArrayHeader(result.Events.Count);
                foreach (var json in result.Events)
                {
                    writer.WriteBulkString(json.Span);
                }

                break;
            case AppendStatus.WrongVersionConflict:
                writer.WriteError($"WRONGVERSION concurrent stream modification (expected {request.Expected}, stream is at {result.StreamCount})");
                break;
            case AppendStatus.WrongVersionGap:
                writer.WriteError($"WRONGVERSION given version leaves gap in stream (expected {request.Expected}, stream is at {result.StreamCount})");
                break;
            case AppendStatus.PartialDuplicate:
                writer.WriteError("WRONGVERSION some message ids of this batch are already stored and others are not");
                break;
            default:
                writer.WriteError($"ERR unexpected append status {result.Status}");
                break;
        }
    }
}
