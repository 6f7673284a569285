namespace EventflowDb.Storage;

/// <summary>
/// The store's files are damaged in a way recovery must not repair on its own: a bad record followed by valid
/// ones, damage below what the last checkpoint covered, or a missing segment file. Opening again with
/// <see cref="StoreOptions.Repair"/> copies the damaged files aside and cuts the log at <see cref="Address"/>.
/// </summary>
public sealed class StoreDamagedException : Exception
{
    public StoreDamagedException(string path, long offset, long address, string reason)
        : base($"The event log is damaged: {reason} in {path} at offset {offset} (log address {address}). Start with --repair to copy the damaged files aside and cut the log there.")
    {
        Path = path;
        Offset = offset;
        Address = address;
        Reason = reason;
    }

    public StoreDamagedException()
        : this(string.Empty, 0, 0, "unknown damage")
    {
    }

    public StoreDamagedException(string message)
        : this(string.Empty, 0, 0, message)
    {
    }

    public StoreDamagedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
        Reason = message;
    }

    /// <summary>The damaged segment file.</summary>
    public string Path { get; }

    /// <summary>Byte offset of the damage in <see cref="Path"/>.</summary>
    public long Offset { get; }

    /// <summary>Logical log address of the damage (where a repair cuts the log).</summary>
    public long Address { get; }

    /// <summary>What is wrong there.</summary>
    public string Reason { get; }
}
