namespace EventflowDb.Storage;

/// <summary>Copies the first bytes of a stream into another through a caller's buffer (backups, store copies).</summary>
internal static class StreamCopy
{
    /// <summary>Copies at most <paramref name="count"/> bytes (fewer when the source ends first); returns how many.</summary>
    public static long Prefix(Stream from, Stream to, long count, byte[] buffer, CancellationToken cancellationToken = default)
    {
        long copied = 0;
        while (copied < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int read = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count - copied));
            if (read == 0)
            {
                break;
            }

            to.Write(buffer, 0, read);
            copied += read;
        }

        return copied;
    }
}
