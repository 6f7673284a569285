using EventflowDb.Protocol;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>
/// SNAPSHOT SAVE &lt;stream&gt; &lt;version&gt; &lt;data&gt;: the stream's latest snapshot, a control record; +OK once durable.
/// SNAPSHOT GET &lt;stream&gt;: <c>{"stream","version","data","added_at"}</c> or nil. Data is stored as ADD stores event data
/// (a JSON object or array as sent, anything else as a JSON string).
/// </summary>
internal sealed class SnapshotCommand(int maxAppendBytes) : Command("SNAPSHOT", -3)
{
    public const string Usage = "SNAPSHOT SAVE <stream> <version> <data> | SNAPSHOT GET <stream>";

    public override AclCategory CategoriesOf(RespRequest request) =>
        request.Count > 1 && request.EqualsIgnoreCase(1, "GET"u8) ? AclCategory.Read : AclCategory.Write;

    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        if (request.EqualsIgnoreCase(1, "GET"u8))
        {
            Arguments.Exactly(request, 3, Usage);
            var name = LifecycleOutcome.Stream(request[2]);
            StreamPermissions.CheckRead(session, name);
            if (session.Store.ReadSnapshot(name) is { } snapshot)
            {
                session.Writer.WriteBulkString(SnapshotJson.Write(name, snapshot));
            }
            else
            {
                session.Writer.WriteNull();
            }

            return;
        }

        if (!request.EqualsIgnoreCase(1, "SAVE"u8))
        {
            throw CommandException.Syntax($"unknown SNAPSHOT subcommand '{ErrorText.Excerpt(request[1])}': {Usage}");
        }

        Arguments.Exactly(request, 5, Usage);
        long version = Arguments.NonNegative(request, 3, "version");
        CheckSize(request[4].Length, maxAppendBytes);

        // Text is stored escaped (up to 6 times its size): check the stored size before allocating it.
        CheckSize(AddRequestParser.PositionalDataLength(request[4], maxAppendBytes), maxAppendBytes);
        var stream = LifecycleOutcome.WritableStream(session, request, 2);
        var data = AddRequestParser.PositionalData(request[4]);
        await LifecycleOutcome.RunAsync(session.Store.SaveSnapshotAsync(stream, version, data), Name, version).ConfigureAwait(false);
        session.Writer.WriteOk();
    }

    /// <summary>Refuses snapshot data over the append limit before anything is copied.</summary>
    public static void CheckSize(long length, int maxAppendBytes)
    {
        if (length > maxAppendBytes - 1024)
        {
            throw CommandException.TooLarge($"snapshot data is over the {maxAppendBytes - 1024} byte limit");
        }
    }
}
