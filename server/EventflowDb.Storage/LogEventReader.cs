using System.Buffers.Binary;

namespace EventflowDb.Storage;

/// <summary>Reads single events and whole entries of the committed log by location.</summary>
internal sealed class LogEventReader
{
    [ThreadStatic]
    private static byte[]? t_entryBuffer;

    private readonly LogFileReader _files;
    private readonly int _maxRecord;

    // Entries up to this size are read whole for a stream read; larger ones (up to a log page) event by event.
    private readonly int _wholeEntryReadLimit;

    public LogEventReader(LogFileReader files, LogLayout layout)
    {
        _files = files;
        _maxRecord = layout.PageSize;
        _wholeEntryReadLimit = layout.WholeEntryReadLimit;
    }

    /// <summary>
    /// Copies the JSON of the event at <paramref name="location"/> into <paramref name="page"/>; false (nothing
    /// copied) when it does not fit the page's byte limit.
    /// </summary>
    public bool ReadEventInto(IndexValue location, EventPage page) => ReadEventInto(location, page, forgotten: false);

    /// <param name="forgotten">Render the event as forgotten (<see cref="ForgottenEvent"/>); a scrubbed event always is.</param>
    private bool ReadEventInto(IndexValue location, EventPage page, bool forgotten)
    {
        long recordAddress = location.Address + LogLayout.RecordHeaderSize + location.Offset;
        Span<byte> head = stackalloc byte[512];
        _files.Read(recordAddress, head);
        var record = new EventRecord(head, 0);
        int area = record.AreaLength;
        int messageIdLength = record.MessageIdLength;
        if (area <= 0 || area > _maxRecord)
        {
            throw new InvalidDataException($"Event record at {location.Address}+{location.Offset} has an impossible length {area}.");
        }

        int jsonStart = LogEntryFormat.EventFixedSize + messageIdLength;
        if (forgotten || record.IsScrubbed)
        {
            // The whole JSON area, then the rendering (a scrubbed event's skeleton ends before the area does).
            var raw = new byte[LogEntryFormat.EventFixedSize + messageIdLength + area];
            _files.Read(recordAddress, raw);
            var json = new EventRecord(raw, 0).Json;
            if (!page.Fits(json.Length + ForgottenEvent.ExtraBytes))
            {
                return false;
            }

            ForgottenEvent.AddTo(page, json);
            return true;
        }

        int jsonLength = area;
        if (!page.Fits(jsonLength))
        {
            return false;
        }

        var target = page.Reserve(jsonLength);
        if (jsonStart + jsonLength <= head.Length)
        {
            head.Slice(jsonStart, jsonLength).CopyTo(target);
        }
        else
        {
            _files.Read(recordAddress + jsonStart, target[..jsonLength]);

            // Two reads: a compaction may have scrubbed the event between them (its JSON area then holds a skeleton and
            // zeros). Scrubbing is one-way, so if it is not scrubbed now, the JSON was read before any rewrite.
            _files.Read(recordAddress, head[..LogEntryFormat.EventFixedSize]);
            if (new EventRecord(head, 0).IsScrubbed)
            {
                return ReadEventInto(location, page, forgotten: true); // the reserved room is not committed: reused
            }
        }

        page.Commit(jsonLength);
        return true;
    }

    /// <summary>
    /// Copies the events of the entry at <paramref name="location"/> whose versions lie in
    /// [<paramref name="version"/>, <paramref name="endVersion"/>) into <paramref name="page"/>, reading the
    /// entry once: the events of one ADD are adjacent, so a stream read costs one read per entry, not per event.
    /// Returns how many events were added: at least one, unless the page's byte limit stopped it first (then the
    /// page is complete). Large entries are read event by event.
    /// </summary>
    /// <param name="exact">True when <paramref name="location"/> is the record of <paramref name="version"/> itself (not of an
    /// earlier keyed version of the same entry): only then may a large entry be read event by event from it.</param>
    public int ReadEntryEventsInto(IndexValue location, bool exact, long streamNumber, long version, long endVersion, EventPage page, in StreamReadRules rules = default)
    {
        Span<byte> header = stackalloc byte[LogLayout.RecordHeaderSize + LogEntryFormat.HeaderSize];
        _files.Read(location.Address, header);
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < LogEntryFormat.HeaderSize || length > _maxRecord)
        {
            throw new InvalidDataException($"Entry at {location.Address} has an impossible length {length}.");
        }

        if (length > _wholeEntryReadLimit && exact)
        {
            long addedAt = new EntryView(header[LogLayout.RecordHeaderSize..]).AddedAtMs;
            if (addedAt < rules.ExpiredBefore)
            {
                return 1; // expired (maxAge): passed over, not added
            }

            return rules.IsForgotten(version) ? (ReadForgottenEventInto(location, page) ? 1 : 0) : (ReadEventInto(location, page) ? 1 : 0);
        }

        var buffer = t_entryBuffer is { } b && b.Length >= length ? b : (t_entryBuffer = new byte[Math.Max(length, 64 * 1024)]);
        var entry = buffer.AsSpan(0, length);
        _files.Read(location.Address + LogLayout.RecordHeaderSize, entry);
        var view = new EntryView(entry);
        long first = view.FirstVersion;
        int count = view.EventCount;
        if (view.StreamNumber != streamNumber || version < first || version >= first + count)
        {
            throw new InvalidDataException($"Entry at {location.Address} does not hold version {version} of stream number {streamNumber}.");
        }

        if (view.AddedAtMs < rules.ExpiredBefore)
        {
            // Expired by maxAge: every event of the entry is passed over.
            return (int)(Math.Min(first + count, endVersion) - version);
        }

        int offset = view.FirstEventOffset;
        int passed = 0;
        for (long v = first; v < first + count && v < endVersion; v++)
        {
            if (offset + LogEntryFormat.EventFixedSize > length)
            {
                throw new InvalidDataException($"Entry at {location.Address} is shorter than its events.");
            }

            var record = new EventRecord(entry, offset);
            int size = record.Size;
            if (record.JsonLength <= 0 || offset + size > length)
            {
                throw new InvalidDataException($"Event record at {location.Address}+{offset} has an impossible length.");
            }

            if (v >= version)
            {
                if (!page.Fits(record.JsonLength))
                {
                    break;
                }

                if (rules.IsForgotten(v) || record.IsScrubbed)
                {
                    ForgottenEvent.AddTo(page, record.Json);
                }
                else
                {
                    page.Add(record.Json);
                }

                passed++;
            }

            offset += size;
        }

        return passed;
    }

    /// <summary>Like <see cref="ReadEventInto"/>, rendering the event as forgotten (<see cref="ForgottenEvent"/>).</summary>
    private bool ReadForgottenEventInto(IndexValue location, EventPage page) => ReadEventInto(location, page, forgotten: true);

    /// <summary>When the entry at the location's address was added (unix ms; its header only is read).</summary>
    public long EntryAddedAtMs(IndexValue location)
    {
        Span<byte> header = stackalloc byte[LogLayout.RecordHeaderSize + LogEntryFormat.HeaderSize];
        _files.Read(location.Address, header);
        return new EntryView(header[LogLayout.RecordHeaderSize..]).AddedAtMs;
    }

    /// <summary>True when a valid entry of the stream starts at the location's address and holds <paramref name="version"/>.</summary>
    public bool HoldsVersion(IndexValue location, long streamNumber, long version)
    {
        Span<byte> header = stackalloc byte[LogLayout.RecordHeaderSize + LogEntryFormat.HeaderSize];
        _files.Read(location.Address, header);
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < LogEntryFormat.HeaderSize || length > _maxRecord
            || BinaryPrimitives.ReadUInt32LittleEndian(header[(LogLayout.RecordHeaderSize + LogEntryFormat.MagicOffset)..]) != LogEntryFormat.Magic)
        {
            return false;
        }

        var view = new EntryView(header[LogLayout.RecordHeaderSize..]);
        return view.StreamNumber == streamNumber && version >= view.FirstVersion && version < view.FirstVersion + view.EventCount;
    }

    /// <summary>The JSON of the event at <paramref name="location"/> as a new array.</summary>
    public byte[] ReadEventJson(IndexValue location)
    {
        var page = new EventPage();
        _ = ReadEventInto(location, page); // an empty page takes any event
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

/// <summary>What a stream read hides or rewrites inside the versions it reads (the lowest visible version is the caller's start).</summary>
/// <param name="ExpiredBefore">Events added before this unix time (ms) are passed over (maxAge); <see cref="long.MinValue"/>: none.</param>
/// <param name="ForgottenBelow">Versions below this render as forgotten; 0: none.</param>
internal readonly record struct StreamReadRules(long ExpiredBefore, long ForgottenBelow)
{
    public static StreamReadRules None => new(long.MinValue, 0);

    public bool IsForgotten(long version) => version < ForgottenBelow;
}
