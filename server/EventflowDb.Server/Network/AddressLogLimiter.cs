using System.Net;

namespace EventflowDb.Server.Network;

/// <summary>
/// Logs one kind of event (a failed AUTH, HTTP sent to the RESP port, a refused connection) at Warning at most once
/// per interval per client address, with the number of events since that address's last line, so that a client
/// hammering the server cannot flood the log. Held-back counts are written by <see cref="Flush"/> (called once a
/// second), so none is lost. At most <c>capacity</c> addresses are tracked; beyond that, events are counted together
/// under <see cref="OtherAddresses"/>, so the table stays bounded whatever the number of addresses.
/// </summary>
internal sealed class AddressLogLimiter
{
    /// <summary>The key of the events of addresses beyond the capacity (and of clients without an IP address).</summary>
    public static readonly IPAddress OtherAddresses = IPAddress.None;

    private readonly Serilog.ILogger _logger;
    private readonly string _messageTemplate;
    private readonly int _capacity;
    private readonly long _intervalMs;
    private readonly Func<long> _clockMs;
    private readonly Dictionary<IPAddress, Entry> _entries = [];
    private readonly Lock _lock = new();

    /// <param name="messageTemplate">A Serilog template with the properties <c>{Address}</c> and <c>{Count}</c>, in that order.</param>
    /// <param name="clockMs">Milliseconds of a monotonic clock; <see cref="Environment.TickCount64"/> unless a test sets it.</param>
    public AddressLogLimiter(Serilog.ILogger logger, string messageTemplate, int capacity = 1024, long intervalMs = 1000, Func<long>? clockMs = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _logger = logger;
        _messageTemplate = messageTemplate;
        _capacity = capacity;
        _intervalMs = intervalMs;
        _clockMs = clockMs ?? (() => Environment.TickCount64);
    }

    /// <summary>Addresses tracked now (for tests of the bound).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Counts one event of <paramref name="address"/>; logs it now unless that address was logged within the interval.</summary>
    public void Record(IPAddress? address)
    {
        address = address is null ? OtherAddresses : address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        long now = _clockMs();
        int count;
        lock (_lock)
        {
            if (!_entries.TryGetValue(address, out var entry))
            {
                if (_entries.Count >= _capacity)
                {
                    RemoveQuiet(now);
                }

                if (_entries.Count >= _capacity && !address.Equals(OtherAddresses))
                {
                    address = OtherAddresses;
                    _entries.TryGetValue(address, out entry);
                }

                if (entry is null)
                {
                    entry = new Entry { LastLogged = now - _intervalMs };
                    _entries[address] = entry;
                }
            }

            entry.Unlogged++;
            if (now - entry.LastLogged < _intervalMs)
            {
                return;
            }

            count = entry.Unlogged;
            entry.Unlogged = 0;
            entry.LastLogged = now;
        }

        Log(address, count);
    }

    /// <summary>Logs the counts held back whose interval has passed, and forgets addresses quiet for an interval.</summary>
    public void Flush()
    {
        long now = _clockMs();
        List<(IPAddress Address, int Count)>? due = null;
        lock (_lock)
        {
            foreach (var (address, entry) in _entries)
            {
                if (entry.Unlogged > 0 && now - entry.LastLogged >= _intervalMs)
                {
                    (due ??= []).Add((address, entry.Unlogged));
                    entry.Unlogged = 0;
                    entry.LastLogged = now;
                }
            }

            RemoveQuiet(now);
        }

        foreach (var (address, count) in due ?? [])
        {
            Log(address, count);
        }
    }

    private void Log(IPAddress address, int count) =>
        _logger.Warning(_messageTemplate, address.Equals(OtherAddresses) ? "other addresses" : address, count);

    /// <summary>Forgets addresses with nothing held back and no line within the interval (they start afresh next time).</summary>
    private void RemoveQuiet(long now)
    {
        foreach (var (address, entry) in _entries)
        {
            if (entry.Unlogged == 0 && now - entry.LastLogged >= _intervalMs)
            {
                _entries.Remove(address);
            }
        }
    }

    private sealed class Entry
    {
        public long LastLogged;

        public int Unlogged;
    }
}
