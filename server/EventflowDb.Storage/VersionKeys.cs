namespace EventflowDb.Storage;

/// <summary>
/// Which versions of an entry get a (stream, version) key in the event index. Stream reads read entries whole,
/// so a key per event is only needed to find the entry that holds a version: an entry's first version and every
/// <see cref="Stride"/>-th version are keyed, and a lookup walks down from the version it wants to the nearest
/// keyed one (at most <see cref="Stride"/> probes; one for a read that starts at an entry, as a stream read does
/// after its first entry). A 100-event ADD upserts 13 keys instead of 100: the index upserts were a fifth of the
/// server's CPU for batched ADDs. Entries too big to be read whole (over <see cref="LogLayout.WholeEntryReadLimit"/>)
/// are read event by event and key every version.
/// </summary>
internal static class VersionKeys
{
    /// <summary>Every this many versions carry a key inside a sparsely keyed entry.</summary>
    public const int Stride = 8;

    /// <summary>True when <paramref name="version"/> of an entry starting at <paramref name="firstVersion"/> gets a key.</summary>
    public static bool IsKeyed(long version, long firstVersion, bool sparse) => !sparse || version == firstVersion || version % Stride == 0;

    /// <summary>True when an entry of <paramref name="entryLength"/> bytes is keyed sparsely.</summary>
    public static bool IsSparse(int entryLength, LogLayout layout) => entryLength <= layout.WholeEntryReadLimit;

    /// <summary>The lowest version a lookup for <paramref name="version"/> may have to probe.</summary>
    public static long LowestProbe(long version) => Math.Max(0, version - (Stride - 1));
}
