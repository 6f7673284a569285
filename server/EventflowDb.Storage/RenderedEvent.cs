namespace EventflowDb.Storage;

/// <summary>
/// One event of the ADD the writer is encoding: its id, message id, where its JSON lies in the writer's scratch
/// buffer, and (once the entry is laid out) its record's offset in the entry, which its index keys point at.
/// </summary>
internal struct RenderedEvent(UInt128 id, byte[]? messageId, int jsonStart, int jsonLength)
{
    public readonly UInt128 Id = id;

    public readonly byte[]? MessageId = messageId;

    public readonly int JsonStart = jsonStart;

    public readonly int JsonLength = jsonLength;

    public int EntryOffset;
}
