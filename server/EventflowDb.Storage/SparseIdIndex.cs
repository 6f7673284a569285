namespace EventflowDb.Storage;

/// <summary>
/// Sparse map from event id to log address: one point (the first id of an entry and the entry's address)
/// every <see cref="Spacing"/> entries. Ids increase with log order, so the last point at or below an id
/// is a safe place to start scanning for events strictly after it, even for an id never stored.
/// </summary>
internal sealed class SparseIdIndex
{
    public const int Spacing = 64;

    private readonly ChunkedList<(UInt128 Id, long Address)> _points = new();

    public long Count => _points.Count;

    public (UInt128 Id, long Address) this[long index] => _points[index];

    /// <summary>Adds a point (committer only, in log order).</summary>
    public void Add(UInt128 firstId, long address) => _points.Add((firstId, address));

    /// <summary>Address of the last point whose id is at most <paramref name="id"/>, or <paramref name="fallback"/>.</summary>
    public long Floor(UInt128 id, long fallback)
    {
        long lo = 0;
        long hi = _points.Count - 1;
        long found = -1;
        while (lo <= hi)
        {
            long mid = lo + ((hi - lo) / 2);
            if (_points[mid].Id <= id)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found < 0 ? fallback : _points[found].Address;
    }
}
