using System.Diagnostics;
using EventflowDb.Server.Network;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// The BLOCK option of GET and GETALL (the XREAD BLOCK idea): when a read finds nothing, wait on the store's
/// commit notification (never a polling loop) and read again, until something is found or the time is up.
/// </summary>
internal static class LongPoll
{
    /// <summary>
    /// Runs <paramref name="read"/> (which returns how many events it found, or -1 for "stop looking") and, when it found none and
    /// <paramref name="blockMs"/> is set, waits for a commit and runs it again. BLOCK 0 waits with no time
    /// limit, as in Redis; the wait also ends when the connection closes or the server stops.
    /// </summary>
    public static async ValueTask ReadAsync<TState>(ClientSession session, long? blockMs, TState state, Func<TState, ValueTask<int>> read)
    {
        var store = session.Store;
        long started = Stopwatch.GetTimestamp();
        while (true)
        {
            // Taken before the read: a commit after it (even during the read) makes the wait return at once.
            Ulid seen = store.Checksum.LastId;
            int found = await read(state).ConfigureAwait(false);
            if (found != 0 || blockMs is null || session.Closing.IsCancellationRequested)
            {
                return;
            }

            var timeout = Timeout.InfiniteTimeSpan;
            if (blockMs.Value > 0)
            {
                timeout = TimeSpan.FromMilliseconds(blockMs.Value) - Stopwatch.GetElapsedTime(started);
                if (timeout <= TimeSpan.Zero)
                {
                    return;
                }
            }

            long waitStarted = Stopwatch.GetTimestamp();
            bool committed = await store.WaitForCommitAfterAsync(seen, timeout, session.Closing).ConfigureAwait(false);
            session.BlockedTicks += Stopwatch.GetElapsedTime(waitStarted).Ticks;
            if (!committed)
            {
                return;
            }
        }
    }
}
