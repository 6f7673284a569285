namespace EventflowDb.Bench.Soak;

/// <summary>
/// Sends the <see cref="BadRequests"/> by turns at a paced rate, on one connection or (for those that may close or
/// change it) a new one each, and checks each answer; a wrong answer counts under <see cref="Counter.BadUnexpected"/>.
/// </summary>
internal sealed class BadRequestLoad(double perSecond, int port, SoakCounters counters)
    : LoadWorker("bad requests", port, counters)
{
    private long _next;

    protected override void RunSession(CancellationToken token)
    {
        using var shared = new SoakConnection(Port, TimeSpan.FromSeconds(10));
        var pacer = new Pacer(perSecond);
        while (pacer.Wait(1, token))
        {
            var bad = BadRequests.All[(int)(_next++ % BadRequests.All.Count)];
            Counters.Add(Counter.BadRequests);
            if (bad.OwnConnection)
            {
                using var own = new SoakConnection(Port, TimeSpan.FromSeconds(10));
                Check(bad, own);
            }
            else if (!Check(bad, shared))
            {
                return; // the shared connection was closed: start a new session
            }
        }
    }

    /// <summary>Sends one bad request and checks its answer; false when the connection is gone.</summary>
    private bool Check(BadRequest bad, SoakConnection connection)
    {
        Reply reply;
        try
        {
            connection.Send(bad.Bytes);
            reply = connection.ReadReply();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            if (bad.Expect != BadOutcome.ErrorOrClose)
            {
                Wrong(bad, "the connection was closed without a reply");
            }

            return false;
        }

        if (!reply.IsError)
        {
            Wrong(bad, $"a {reply.Kind} reply instead of an error");
            return true;
        }

        if (bad.ErrorPrefix is { } prefix && !reply.Text!.StartsWith(prefix, StringComparison.Ordinal))
        {
            Wrong(bad, $"-{reply.Text}");
        }

        if (bad.Expect == BadOutcome.ErrorThenClose && !connection.WaitClosed(TimeSpan.FromSeconds(5)))
        {
            Wrong(bad, "the connection stayed open after the protocol error");
            return false;
        }

        return bad.Expect != BadOutcome.ErrorThenClose;
    }

    private void Wrong(BadRequest bad, string what) => Counters.Unexpected(Counter.BadUnexpected, $"bad request '{bad.Name}'", what);
}
