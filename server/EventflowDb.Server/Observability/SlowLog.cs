using EventflowDb.Protocol;

namespace EventflowDb.Server.Observability;

/// <summary>One SLOWLOG entry, in the shape of Redis's reply.</summary>
internal sealed record SlowLogEntry(long Id, long UnixSeconds, long Microseconds, string[] Arguments, string ClientAddress, string ClientName);

/// <summary>
/// Commands that ran longer than a threshold, newest first, as Redis's SLOWLOG: the threshold and the capacity
/// change at run time (CONFIG SET). The time is the command's own work: waits a client asked for (BLOCK) are not in it.
/// Arguments are kept as Redis keeps them: at most 32, each cut to 128 bytes, and never those of AUTH, HELLO or ACL.
/// </summary>
internal sealed class SlowLog(long slowerThanMicroseconds, int maxLength)
{
    public const int MaxArguments = 32;
    public const int MaxArgumentBytes = 128;

    private readonly Lock _lock = new();
    private readonly LinkedList<SlowLogEntry> _entries = new();
    private long _slowerThan = slowerThanMicroseconds;
    private int _maxLength = maxLength;
    private long _nextId;

    /// <summary>Microseconds a command must take to be logged; negative: nothing is logged.</summary>
    public long SlowerThanMicroseconds
    {
        get => Volatile.Read(ref _slowerThan);
        set => Volatile.Write(ref _slowerThan, value);
    }

    public int MaxLength
    {
        get => Volatile.Read(ref _maxLength);
        set
        {
            lock (_lock)
            {
                _maxLength = value;
                Trim();
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>True when a command that took <paramref name="microseconds"/> goes into the log (checked before any argument is copied).</summary>
    public bool IsSlow(long microseconds)
    {
        long threshold = SlowerThanMicroseconds;
        return threshold >= 0 && microseconds >= threshold;
    }

    public void Add(RespRequest request, long microseconds, string clientAddress, string clientName)
    {
        var entry = new SlowLogEntry(Interlocked.Increment(ref _nextId) - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), microseconds, ArgumentsOf(request), clientAddress, clientName);
        lock (_lock)
        {
            _entries.AddFirst(entry);
            Trim();
        }
    }

    /// <summary>The newest <paramref name="count"/> entries (all when negative).</summary>
    public List<SlowLogEntry> Newest(int count)
    {
        lock (_lock)
        {
            return [.. count < 0 ? _entries : _entries.Take(count)];
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }

    private void Trim()
    {
        while (_entries.Count > _maxLength)
        {
            _entries.RemoveLast();
        }
    }

    private static string[] ArgumentsOf(RespRequest request)
    {
        string name = request.GetString(0).ToUpperInvariant();
        if (name is "AUTH" or "HELLO" or "ACL" or "MIGRATE")
        {
            // Secrets: Redis does not log these commands' arguments either.
            return [name, "(redacted)"];
        }

        int shown = Math.Min(request.Count, request.Count > MaxArguments ? MaxArguments - 1 : MaxArguments);
        var arguments = new string[request.Count > MaxArguments ? MaxArguments : shown];
        for (int i = 0; i < shown; i++)
        {
            var bytes = request[i];
            arguments[i] = bytes.Length <= MaxArgumentBytes
                ? System.Text.Encoding.UTF8.GetString(bytes)
                : $"{System.Text.Encoding.UTF8.GetString(bytes[..MaxArgumentBytes])}... ({bytes.Length - MaxArgumentBytes} more bytes)";
        }

        if (request.Count > MaxArguments)
        {
            arguments[MaxArguments - 1] = $"... ({request.Count - MaxArguments + 1} more arguments)";
        }

        return arguments;
    }
}
