using System.Buffers.Binary;

namespace EventflowDb.Storage;

/// <summary>Reads single events and whole entries of the committed log by location.</summary>
internal sealed class LogEventReader
{
    [ThreadStatic]
    private static byte[]? t_entryBuffer;

    private readonly LogFileReader _files;
    private readonly int _maxRecord;

    public LogEventReader(LogFileReader files, LogLayout layout)
    {
        _files = files;
        _maxRecord = layout.PageSize;
    }

    /// <summary>Copies the JSON of the event at <paramref name="location"/> into <paramref name="page"/>.</summary>
    public void ReadEventInto(IndexValue location, EventPage page)
    {
        long recordAddress = location.Address + LogLayout.RecordHeaderSize + location.Offset;
        Span<byte> head = stackalloc byte[512];
        _files.Read(recordAddress, head);
        var record = new EventRecord(head, 0);
        int jsonLength = record.JsonLength;
        int messageIdLength = record.MessageIdLength;
        if (jsonLength <= 0 || jsonLength > _maxRecord)
        {
            throw new InvalidDataException($"Event record at {location.Address}+{location.Offset} has an impossible length {jsonLength}.");
        }

        var target = page.Reserve(jsonLength);
        int jsonStart = LogEntryFormat.EventFixedSize + messageIdLength;
        if (jsonStart + jsonLength <= head.Length)
        {
            head.Slice(jsonStart, jsonLength).CopyTo(target);
        }
        else
        {
            _files.Read(recordAddress + jsonStart, target[..jsonLength]);
        }

        page.Commit(jsonLength);
    }

    /// <summary>The JSON of the event at <paramref name="location"/> as a new array.</summary>
    public byte[] ReadEventJson(IndexValue location)
    {
        var page = new EventPage();
        ReadEventInto(location, page);
        return page[0].ToArray();
    }

    /// <summary>
    /// True when a valid entry starts at the location's address, belongs to the stream and holds an
    /// event with this message id at the offset. Guards against hash collisions and index keys left
    /// pointing at addresses a recovery cut off and reused.
    /// </summary>
    public bool MatchesMessageId(IndexValue location, long streamNumber, ReadOnlySpan<byte> messageId)
    {
        Span<byte> header = stackalloc byte[LogLayout.RecordHeaderSize];
        _files.Read(location.Address, header);
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < LogEntryFormat.HeaderSize || length > _maxRecord)
        {
            return false;
        }

        var buffer = t_entryBuffer is { } b && b.Length >= length ? b : (t_entryBuffer = new byte[Math.Max(length, 64 * 1024)]);
        var entry = buffer.AsSpan(0, length);
        _files.Read(location.Address + LogLayout.RecordHeaderSize, entry);
        if (LogEntryFormat.Validate(entry) is not null || new EntryView(entry).StreamNumber != streamNumber)
        {
            return false;
        }

        return MatchesMessageId(entry, location.Offset, messageId);
    }

    /// <summary>Checks the event record at <paramref name="offset"/> of an in-memory entry.</summary>
    public static bool MatchesMessageId(ReadOnlySpan<byte> entry, int offset, ReadOnlySpan<byte> messageId)
    {
        if (offset < LogEntryFormat.HeaderSize || offset + LogEntryFormat.EventFixedSize > entry.Length)
        {
            return false;
        }

        var record = new EventRecord(entry, offset);
        return offset + LogEntryFormat.EventFixedSize + record.MessageIdLength <= entry.Length && record.MessageId.SequenceEqual(messageId);
    }
}
