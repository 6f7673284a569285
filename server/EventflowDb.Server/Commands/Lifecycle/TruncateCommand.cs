using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>TRUNCATE &lt;stream&gt; &lt;version&gt;: versions below it are no longer returned; a control record; +OK once durable.</summary>
internal sealed class TruncateCommand() : Command("TRUNCATE", 3)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        long version = Arguments.NonNegative(request, 2, "version");
        var stream = LifecycleOutcome.WritableStream(session, request, 1);
        await LifecycleOutcome.RunAsync(session.Store.TruncateStreamAsync(stream, version), Name, version).ConfigureAwait(false);
        session.Writer.WriteOk();
    }
}
