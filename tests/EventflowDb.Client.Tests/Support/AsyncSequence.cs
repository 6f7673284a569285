namespace EventflowDb.Client.Tests.Support;

/// <summary>
/// Collecting async sequences. (System.Linq.AsyncEnumerable exists twice here, in .NET 10 and in System.Linq.Async that
/// the server's FASTER dependency brings along, so its extension methods are ambiguous.)
/// </summary>
public static class AsyncSequence
{
    /// <summary>All items of <paramref name="source"/>.</summary>
    public static async Task<List<T>> CollectAsync<T>(this IAsyncEnumerable<T> source, CancellationToken cancellationToken = default)
    {
        var items = new List<T>();
        await foreach (var item in source.WithCancellation(cancellationToken))
        {
            items.Add(item);
        }

        return items;
    }

    /// <summary>The number of items of <paramref name="source"/>.</summary>
    public static async Task<int> CountAllAsync<T>(this IAsyncEnumerable<T> source) => (await source.CollectAsync()).Count;

    /// <summary>The first <paramref name="count"/> items of <paramref name="source"/> (then the enumeration is disposed).</summary>
    public static async Task<List<T>> TakeAsync<T>(this IAsyncEnumerable<T> source, int count, CancellationToken cancellationToken = default)
    {
        var items = new List<T>(count);
        if (count == 0)
        {
            return items;
        }

        await foreach (var item in source.WithCancellation(cancellationToken))
        {
            items.Add(item);
            if (items.Count == count)
            {
                break;
            }
        }

        return items;
    }
}
