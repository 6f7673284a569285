using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>
/// STREAMMETA &lt;stream&gt;: the stream's lifecycle settings as a JSON bulk string (<see cref="StreamMetaJson"/>), nil for a
/// stream never written. STREAMMETA &lt;stream&gt; SET [maxCount &lt;n&gt;] [maxAge &lt;ms&gt;]: a control record; a field not
/// given keeps its value; 0 = no limit; +OK once durable.
/// </summary>
internal sealed class StreamMetaCommand() : Command("STREAMMETA", -2)
{
    public const string Usage = "STREAMMETA <stream> [SET maxCount <n> maxAge <ms>]";

    public override AclCategory CategoriesOf(RespRequest request) =>
        request.Count > 2 ? AclCategory.Write : AclCategory.Read;

    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        if (request.Count == 2)
        {
            var name = LifecycleOutcome.Stream(request[1]);
            StreamPermissions.CheckRead(session, name);
            if (session.Store.GetStreamMetadata(name) is { } metadata)
            {
                session.Writer.WriteBulkString(StreamMetaJson.Write(metadata));
            }
            else
            {
                session.Writer.WriteNull();
            }

            return;
        }

        if (!request.EqualsIgnoreCase(2, "SET"u8) || request.Count < 5 || request.Count % 2 != 1)
        {
            throw CommandException.Syntax($"syntax error: {Usage}");
        }

        long? maxCount = null;
        long? maxAge = null;
        for (int i = 3; i < request.Count; i += 2)
        {
            if (request.EqualsIgnoreCase(i, "MAXCOUNT"u8))
            {
                maxCount = Arguments.NonNegative(request, i + 1, "maxCount");
            }
            else if (request.EqualsIgnoreCase(i, "MAXAGE"u8))
            {
                maxAge = Arguments.NonNegative(request, i + 1, "maxAge");
            }
            else
            {
                throw CommandException.Invalid($"unknown STREAMMETA field '{ErrorText.Excerpt(request[i])}' (maxCount, maxAge)");
            }
        }

        var stream = LifecycleOutcome.WritableStream(session, request, 1);
        // A field not named stays as it is when the change is applied (merged in log order, not read here).
        var change = session.Store.SetStreamMetadataAsync(stream, maxCount, maxAge);
        await LifecycleOutcome.RunAsync(change, Name).ConfigureAwait(false);
        session.Writer.WriteOk();
    }
}
