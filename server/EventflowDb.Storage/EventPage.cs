namespace EventflowDb.Storage;

/// <summary>
/// A reusable page of JSON documents (events or stream summaries) filled by a read.
/// One instance per session, cleared and refilled per request, so reads do not allocate.
/// </summary>
public sealed class EventPage
{
    private byte[] _bytes = new byte[16 * 1024];
    private int[] _ends = new int[64];
    private int _used;

    /// <summary>Number of documents in the page.</summary>
    public int Count { get; private set; }

    /// <summary>The UTF-8 JSON of document <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            int start = index == 0 ? 0 : _ends[index - 1];
            return _bytes.AsSpan(start, _ends[index] - start);
        }
    }

    /// <summary>Empties the page, keeping its buffers.</summary>
    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    /// <summary>Appends a copy of <paramref name="json"/>.</summary>
    public void Add(ReadOnlySpan<byte> json)
    {
        json.CopyTo(Reserve(json.Length));
        Commit(json.Length);
    }

    /// <summary>Returns room for a document of at most <paramref name="maxLength"/> bytes; call <see cref="Commit"/> with the length written.</summary>
    public Span<byte> Reserve(int maxLength)
    {
        if (_bytes.Length - _used < maxLength)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _used + maxLength));
        }

        return _bytes.AsSpan(_used, maxLength);
    }

    /// <summary>Adds the document of <paramref name="length"/> bytes written into the span from <see cref="Reserve"/>.</summary>
    public void Commit(int length)
    {
        if (Count == _ends.Length)
        {
            Array.Resize(ref _ends, _ends.Length * 2);
        }

        _used += length;
        _ends[Count++] = _used;
    }
}
