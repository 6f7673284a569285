using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// One read of the log in order (GETALL, <c>GET /all</c>): events of all streams, or of one channel, strictly after
/// <see cref="Cursor"/>. The cursor moves past events already examined that were not returned (non-matching, or hidden by
/// DELETE, TRUNCATE, maxCount or maxAge), so a blocking read that wakes up scans only what was committed since. A
/// channel read's scan budget spans the request; a read of every event has none (<see cref="BudgetFor"/>).
/// </summary>
internal sealed class AllEventsRead(IEventStore store, EventPage page, IEventFilter? filter, int limit, int scanBudget = AllEventsRead.FilterScanBudget)
{
    /// <summary>
    /// Most events one read examines, with or without a filter: the scan skips non-matching and hidden events but must not
    /// turn one request into a read of the whole log.
    /// </summary>
    public const int FilterScanBudget = 100_000;

    /// <summary>
    /// The scan budget of a read with <paramref name="filter"/>. A read of every event (no filter) has none: clients page
    /// GETALL until an empty page, so it must never answer one while visible events lie ahead; it scans on past hidden
    /// events (a deleted range costs a sequential read until compaction) and its cursor still moves past them.
    /// </summary>
    public static int BudgetFor(IEventFilter? filter) => filter is null ? int.MaxValue : FilterScanBudget;

    private int _scanned;

    /// <summary>Where the read starts; after a read that found nothing, the last event it examined.</summary>
    public Ulid Cursor { get; set; }

    /// <summary>
    /// The filter of a read of <paramref name="channel"/> (null or <c>$all</c>: every event) by <paramref name="subject"/>:
    /// INVALID for an unknown channel, NOPERM unless the user's read patterns cover it, and narrowed to the streams the
    /// user may read. Null means every event.
    /// </summary>
    public static IEventFilter? FilterFor(IAclSubject subject, string? channel)
    {
        IEventFilter? filter = null;
        if (channel is not null && channel != EventChannels.All)
        {
            filter = EventChannels.Parse(channel);
        }

        StreamPermissions.CheckChannel(subject, channel);
        return ReadRightsFilter.OneRead(subject.User, filter);
    }

    /// <summary>Fills the page; returns how many events it found, or -1 when the scan budget is spent with none (stop looking).</summary>
    public async ValueTask<int> NextAsync(CancellationToken cancellationToken = default)
    {
        var progress = await store.ReadAllAsync(Cursor, limit, page, filter, Math.Max(0, scanBudget - _scanned), cancellationToken).ConfigureAwait(false);
        _scanned += progress.Scanned;
        if (progress.Count == 0)
        {
            Cursor = progress.LastScanned;
        }

        // Budget spent with nothing found: answer the empty page now instead of waiting.
        return progress.Count == 0 && _scanned >= scanBudget ? -1 : progress.Count;
    }
}
