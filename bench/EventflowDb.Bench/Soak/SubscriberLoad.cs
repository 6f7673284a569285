using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// A push subscriber that reads everything it is sent: by turns <c>SUBSCRIBE $all</c>, <c>FOLLOW $all</c> (from the
/// last event it saw, so after a drop it resumes without a gap) and <c>PSUBSCRIBE stream:soak-w0-*</c>.
/// </summary>
internal sealed class SubscriberLoad(int index, int port, SoakCounters counters)
    : LoadWorker($"subscriber {index} ({Kind(index)})", port, counters)
{
    private string _lastId = "00000000000000000000000000";

    protected override void RunSession(CancellationToken token)
    {
        using var connection = new SoakConnection(Port, TimeSpan.FromSeconds(60));
        using var closeOnCancel = token.Register(connection.Dispose);
        byte[] subscribe = (index % 3) switch
        {
            0 => RespCommand.Encode("SUBSCRIBE", "$all"),
            1 => RespCommand.Encode("FOLLOW", "$all", _lastId),
            _ => RespCommand.Encode("PSUBSCRIBE", "stream:soak-w0-*"),
        };
        connection.Send(subscribe);
        var confirm = connection.ReadReply();
        if (confirm.Kind != ReplyKind.Array)
        {
            Unexpected("subscribe", confirm);
            token.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            return;
        }

        while (!token.IsCancellationRequested)
        {
            var frame = connection.ReadReply();
            if (frame.Kind == ReplyKind.Array && frame.LastEventId is { } id)
            {
                _lastId = id;
                Counters.Add(Counter.Delivered);
            }
            else if (frame.IsError)
            {
                Unexpected("message frame", frame);
            }
        }
    }

    private static string Kind(int index) => (index % 3) switch
    {
        0 => "SUBSCRIBE $all",
        1 => "FOLLOW $all",
        _ => "PSUBSCRIBE",
    };
}
