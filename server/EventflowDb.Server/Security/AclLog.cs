using System.Diagnostics;

namespace EventflowDb.Server.Security;

/// <summary>Why a refusal was recorded, in Redis's words (<c>ACL LOG</c> field <c>reason</c>).</summary>
internal enum AclLogReason
{
    Command,
    Stream,
    Auth,
}

/// <summary>One <c>ACL LOG</c> entry: refusals of the same kind, object and user within a minute are counted in one entry, as Redis does.</summary>
internal sealed class AclLogEntry
{
    public required long Id { get; init; }

    public required AclLogReason Reason { get; init; }

    public required string Object { get; init; }

    public required string User { get; init; }

    /// <summary>The CLIENT LIST line of the client refused last (address, name, user).</summary>
    public required string ClientInfo { get; set; }

    public long Count { get; set; } = 1;

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset LastUpdated { get; set; } = DateTimeOffset.UtcNow;

    public long LastUpdatedTicks { get; set; } = Stopwatch.GetTimestamp();

    /// <summary>The reason as Redis spells it; refusals of a stream are Redis's <c>key</c>.</summary>
    public string ReasonText => Reason switch
    {
        AclLogReason.Command => "command",
        AclLogReason.Stream => "key",
        _ => "auth",
    };
}

/// <summary>The refusals of <c>ACL LOG</c>, newest first, at most <see cref="MaxEntries"/> (Redis's acllog-max-len).</summary>
internal sealed class AclLog
{
    public const int MaxEntries = 128;

    private static readonly TimeSpan GroupingWindow = TimeSpan.FromSeconds(60);

    private readonly LinkedList<AclLogEntry> _entries = new();
    private readonly Lock _lock = new();
    private long _nextId;

    public void Record(AclLogReason reason, string objectName, string user, string clientInfo)
    {
        lock (_lock)
        {
            foreach (var entry in _entries)
            {
                if (entry.Reason == reason && entry.Object == objectName && entry.User == user
                    && Stopwatch.GetElapsedTime(entry.LastUpdatedTicks) < GroupingWindow)
                {
                    entry.Count++;
                    entry.ClientInfo = clientInfo;
                    entry.LastUpdated = DateTimeOffset.UtcNow;
                    entry.LastUpdatedTicks = Stopwatch.GetTimestamp();
                    _entries.Remove(entry);
                    _entries.AddFirst(entry);
                    return;
                }
            }

            _entries.AddFirst(new AclLogEntry { Id = _nextId++, Reason = reason, Object = objectName, User = user, ClientInfo = clientInfo });
            if (_entries.Count > MaxEntries)
            {
                _entries.RemoveLast();
            }
        }
    }

    public IReadOnlyList<AclLogEntry> Newest(int count)
    {
        lock (_lock)
        {
            return [.. _entries.Take(count)];
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }
}
