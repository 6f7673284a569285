using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>DELETE &lt;stream&gt; [&lt;expected version&gt;]: soft delete, a control record in the log; +OK once durable.</summary>
internal sealed class DeleteCommand() : Command("DELETE", -2)
{
    public const string Usage = "DELETE <stream> [<expected version>]";

    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        Arguments.AtLeast(request, 2, Usage);
        if (request.Count > 3)
        {
            throw CommandException.Syntax($"wrong number of arguments: {Usage}");
        }

        long? expected = request.Count == 3 ? Arguments.NonNegative(request, 2, "expected version") : null;
        var stream = LifecycleOutcome.WritableStream(session, request, 1);
        await LifecycleOutcome.RunAsync(session.Store.DeleteStreamAsync(stream, expected), Name, expected).ConfigureAwait(false);
        session.Writer.WriteOk();
    }
}
