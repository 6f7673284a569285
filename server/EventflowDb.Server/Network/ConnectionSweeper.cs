namespace EventflowDb.Server.Network;

/// <summary>
/// One timer for the whole server, once a second: closes connections idle for longer than <c>--timeout</c> (waiting
/// for a request, not subscribed; a request in progress, a long poll included, is not idle), times every client's
/// unsent output against its <c>--client-output-buffer-limit</c> class, and writes the counts the log limiters held back. Sessions only note when they start waiting for input, so requests pay nothing for it.
/// </summary>
internal sealed class ConnectionSweeper : IDisposable
{
    private readonly ServerContext _context;
    private readonly Timer _timer;

    public ConnectionSweeper(ServerContext context)
    {
        _context = context;
        _timer = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>One round (the timer's; public for tests).</summary>
    public void Sweep()
    {
        try
        {
            long timeoutMs = (long)_context.Options.IdleTimeout.TotalMilliseconds;
            long now = Environment.TickCount64;

            // Enumerating the dictionary itself takes no lock and copies nothing.
            foreach (var (_, session) in _context.Clients)
            {
                if (timeoutMs > 0 && session.IdleMilliseconds(now) >= timeoutMs)
                {
                    session.CloseIdle();
                    continue;
                }

                SweepOutput(session);
            }

            _context.FlushLogLimiters();
        }
        catch (Exception e)
        {
            _context.Logger.Error(e, "Connection sweep failed");
        }
    }

    /// <summary>
    /// The output limits' timed check: the soft limit is a duration, and a client whose writer is idle or waiting is
    /// checked nowhere else (flushes check the rest).
    /// </summary>
    private void SweepOutput(ClientSession session)
    {
        try
        {
            session.SweepOutput();
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // A session that ended while it was checked.
            _context.Logger.Debug(e, "Output check of client {ClientId} skipped", session.Id);
        }
    }

    public void Dispose() => _timer.Dispose();
}
