using System.Collections.Concurrent;
using System.Text;

namespace EventflowDb.Storage;

/// <summary>
/// One stream. <see cref="Count"/> and <see cref="UpdatedMs"/> are the committed view (written by the
/// committer, read by anyone); <see cref="PendingCount"/> includes enqueued, uncommitted appends and
/// belongs to the writer alone.
/// </summary>
internal sealed class StreamInfo
{
    private long _count;
    private long _updatedMs;
    private StreamLifecycle? _lifecycle;

    public StreamInfo(string name, long number, long createdMs)
    {
        Name = name;
        Number = number;
        CreatedMs = createdMs;
    }

    public string Name { get; }

    /// <summary>0-based creation order; also the stream's id inside log entries and index keys.</summary>
    public long Number { get; }

    public long CreatedMs { get; }

    public long Count => Volatile.Read(ref _count);

    public long UpdatedMs => Volatile.Read(ref _updatedMs);

    public long PendingCount { get; set; }

    /// <summary>Lifecycle state from control records (committed view, replaced whole); null when the stream never had one.</summary>
    public StreamLifecycle? Lifecycle
    {
        get => Volatile.Read(ref _lifecycle);
        set => Volatile.Write(ref _lifecycle, value);
    }

    public void SetCommitted(long count, long updatedMs)
    {
        Volatile.Write(ref _updatedMs, updatedMs);
        Volatile.Write(ref _count, count);
    }
}

/// <summary>Name → stream and number → stream. Streams are added by the writer only, in number order.</summary>
internal sealed class StreamTable
{
    private readonly ConcurrentDictionary<string, StreamInfo> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamInfo>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly ChunkedList<StreamInfo> _byNumber = new();

    public StreamTable() => _byChars = _byName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>All streams known to the writer, committed or not.</summary>
    public long Count => _byNumber.Count;

    public StreamInfo this[long number] => _byNumber[number];

    public bool TryGet(string name, out StreamInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>Looks a stream up by its UTF-8 name without allocating.</summary>
    public StreamInfo? Find(ReadOnlySpan<byte> utf8Name)
    {
        if (utf8Name.Length > 1024)
        {
            return TryGet(Encoding.UTF8.GetString(utf8Name), out var big) ? big : null;
        }

        Span<char> chars = stackalloc char[utf8Name.Length];
        int length = Encoding.UTF8.GetChars(utf8Name, chars);
        return _byChars.TryGetValue(chars[..length], out var info) ? info : null;
    }

    /// <summary>Adds the next stream (writer or recovery only).</summary>
    public StreamInfo Add(string name, long createdMs)
    {
        var info = new StreamInfo(name, _byNumber.Count, createdMs);
        _byNumber.Add(info);
        _byName[name] = info;
        return info;
    }
}
