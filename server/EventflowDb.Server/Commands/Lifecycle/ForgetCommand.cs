using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>FORGET &lt;stream&gt;: the stream's events render without data and metadata from now on; a control record; +OK once durable.</summary>
internal sealed class ForgetCommand() : Command("FORGET", 2)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        var stream = LifecycleOutcome.WritableStream(session, request, 1);
        await LifecycleOutcome.RunAsync(session.Store.ForgetStreamAsync(stream), Name).ConfigureAwait(false);
        session.Writer.WriteOk();
    }
}
