namespace EventflowDb.Storage;

/// <summary>
/// An append refused or failed because the store went read-only after a failed write (disk full, I/O error).
/// The message is <c>store is read-only: &lt;reason&gt;</c>, the reply the server gives to ADD as it is.
/// </summary>
public sealed class StoreReadOnlyException : InvalidOperationException
{
    public StoreReadOnlyException()
        : this("unknown reason")
    {
    }

    public StoreReadOnlyException(string reason)
        : this(reason, null)
    {
    }

    public StoreReadOnlyException(string reason, Exception? innerException)
        : base($"store is read-only: {reason}", innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the store went read-only (the first failure seen).</summary>
    public string Reason { get; }
}
