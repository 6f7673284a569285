using System.Globalization;
using NUlid;

namespace EventflowDb.Client;

/// <summary>The reply of CHECKSUM: the last event's id and a checksum chained over every stored event in log order.</summary>
/// <param name="LastEventId">The id of the last event in the log, or <see cref="Ulid.Empty"/> on an empty store.</param>
/// <param name="Value">XxHash64 chained over the stored JSON of every event (0 on an empty store). Two stores with the same checksum hold the same log.</param>
public readonly record struct StoreChecksum(Ulid LastEventId, ulong Value)
{
    /// <summary>The checksum as the server prints it: 16 lowercase hex digits.</summary>
    public string Hex => Value.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>The reply of SIZE: the bytes the store occupies on disk.</summary>
/// <param name="Bytes">Bytes on disk (log, index and checkpoints).</param>
/// <param name="Text">The same, human-readable (for example <c>1.2 MB</c>).</param>
public readonly record struct StoreSize(long Bytes, string Text);

/// <summary>What COMPACT reports: the bytes the server's data directory occupied on disk before and after the compaction.</summary>
/// <param name="BytesBefore">Allocated bytes when it started.</param>
/// <param name="BytesAfter">Allocated bytes when it ended.</param>
public readonly record struct CompactionSize(long BytesBefore, long BytesAfter);

/// <summary>The reply of UPTIME: how long the server has been running.</summary>
/// <param name="Uptime">The time since the server started.</param>
/// <param name="Text">The same, human-readable (for example <c>3m 12s</c>).</param>
public readonly record struct ServerUptime(TimeSpan Uptime, string Text);
