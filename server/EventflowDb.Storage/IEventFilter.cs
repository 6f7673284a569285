using NUlid;

namespace EventflowDb.Storage;

/// <summary>
/// Chooses events during a filtered read of the whole log. Gets the stream name (from the entry header,
/// no parsing) and the event's stored JSON (for anything else, such as the type).
/// </summary>
public interface IEventFilter
{
    bool Matches(ReadOnlySpan<byte> streamUtf8, ReadOnlySpan<byte> eventJson);
}

/// <summary>
/// How far a filtered read of the log got: <paramref name="Count"/> events added to the page,
/// <paramref name="Scanned"/> events examined, and the id of the last event examined
/// (<paramref name="LastScanned"/>, the read's start when none), so the next read can resume past
/// events that did not match instead of scanning them again.
/// </summary>
public readonly record struct ReadAllProgress(int Count, int Scanned, Ulid LastScanned);
