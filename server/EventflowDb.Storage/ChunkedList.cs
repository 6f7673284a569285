namespace EventflowDb.Storage;

/// <summary>
/// Append-only list for one writer and lock-free readers: items live in fixed chunks that never move,
/// so a reader holding an index below a count it has seen published always finds the item.
/// </summary>
internal sealed class ChunkedList<T>
{
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;
    private T[][] _chunks = new T[16][];
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public T this[long index] => Volatile.Read(ref _chunks)[index >> ChunkBits][index & (ChunkSize - 1)];

    /// <summary>Appends (single writer). The item becomes visible to readers through <see cref="Count"/>.</summary>
    public void Add(T item)
    {
        long index = _count;
        int chunk = (int)(index >> ChunkBits);
        var chunks = _chunks;
        if (chunk == chunks.Length)
        {
            var grown = new T[chunks.Length * 2][];
            Array.Copy(chunks, grown, chunks.Length);
            Volatile.Write(ref _chunks, grown);
            chunks = grown;
        }

        chunks[chunk] ??= new T[ChunkSize];
        chunks[chunk][index & (ChunkSize - 1)] = item;
        Volatile.Write(ref _count, index + 1);
    }
}
