namespace EventflowDb.Storage;

/// <summary>
/// A reusable page of JSON documents (events or stream summaries) filled by a read.
/// One instance per session, cleared and refilled per request, so reads do not allocate.
/// A read stops adding documents once the next one would take the page past <see cref="ByteLimit"/>
/// (<c>--max-page-bytes</c>); the first document is always taken, so a page never comes back empty
/// only because one event is larger than the limit.
/// </summary>
public sealed class EventPage
{
    private byte[] _bytes = new byte[16 * 1024];
    private int[] _ends = new int[64];
    private int _used;

    /// <summary>Number of documents in the page.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes of the documents in the page.</summary>
    public int Bytes => _used;

    /// <summary>Most bytes of documents a read puts into the page (its first document aside); no bound by default.</summary>
    public long ByteLimit { get; set; } = long.MaxValue;

    /// <summary>
    /// True when a document of <paramref name="length"/> bytes may still be added: the page is empty, or it stays
    /// within <see cref="ByteLimit"/>. Readers ask before they read or copy the document.
    /// </summary>
    public bool Fits(int length) => Count == 0 || _used + (long)length <= ByteLimit;

    /// <summary>True when no further document fits, whatever its size (the byte limit is reached).</summary>
    public bool IsFull => Count > 0 && _used >= ByteLimit;

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
        EntryReads = 0;
    }

    /// <summary>
    /// Log entries (or entry headers) the last stream read into this page looked at: what a GET cost (tests). Kept on the
    /// reader's own page rather than the store, so the hot read path writes no shared counter.
    /// </summary>
    internal int EntryReads { get; set; }

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
