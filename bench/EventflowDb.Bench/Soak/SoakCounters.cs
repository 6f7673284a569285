namespace EventflowDb.Bench.Soak;

/// <summary>What the load counts; one running total each.</summary>
internal enum Counter
{
    /// <summary>New events acknowledged by ADD (a repeated batch answered from its message ids adds none).</summary>
    EventsWritten,

    /// <summary>ADD batches sent by the writers.</summary>
    AddBatches,

    /// <summary>ADDs repeating message ids that were answered with the events stored the first time.</summary>
    Duplicates,

    /// <summary>ADDs sent with a stale expected version on purpose and refused with WRONGVERSION.</summary>
    WrongVersions,

    /// <summary>GET and GETALL pages read.</summary>
    Reads,

    /// <summary>Message frames received by the subscribers that read.</summary>
    Delivered,

    /// <summary>Stalled subscribers found disconnected by the server (they connect and stall again).</summary>
    StalledDropped,

    /// <summary>Connections that connected and vanished.</summary>
    Churned,

    /// <summary>Bad requests sent.</summary>
    BadRequests,

    /// <summary>Bad requests answered otherwise than expected (see the notes).</summary>
    BadUnexpected,

    /// <summary>Anything else the load did not expect: an error reply to a good request, a lost connection, a time-out.</summary>
    LoadErrors,
}

/// <summary>Thread-safe totals of <see cref="Counter"/>, plus notes on what went unexpectedly (counted by kind).</summary>
internal sealed class SoakCounters
{
    private const int MaxNotes = 40;
    private readonly long[] _totals = new long[Enum.GetValues<Counter>().Length];
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Count, string Last)> _notes = new(StringComparer.Ordinal);

    public void Add(Counter counter, long n = 1) => Interlocked.Add(ref _totals[(int)counter], n);

    public long this[Counter counter] => Interlocked.Read(ref _totals[(int)counter]);

    public long[] Snapshot() => [.. _totals.Select((_, i) => Interlocked.Read(ref _totals[i]))];

    /// <summary>Counts <paramref name="counter"/> and remembers the event under <paramref name="kind"/> with its latest text.</summary>
    public void Unexpected(Counter counter, string kind, string text)
    {
        Add(counter);
        string cut = text.Length > 200 ? text[..200] + "..." : text;
        lock (_lock)
        {
            if (_notes.TryGetValue(kind, out var note))
            {
                _notes[kind] = (note.Count + 1, cut);
            }
            else if (_notes.Count < MaxNotes)
            {
                _notes[kind] = (1, cut);
            }
        }
    }

    public IReadOnlyList<(string Kind, long Count, string Last)> Notes()
    {
        lock (_lock)
        {
            return [.. _notes.OrderByDescending(n => n.Value.Count).Select(n => (n.Key, n.Value.Count, n.Value.Last))];
        }
    }
}
