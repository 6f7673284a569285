using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventflowDb.Storage;

/// <summary>
/// One FasterLog record per ADD. Little-endian layout:
/// <code>
///  0 u64 checksum   XxHash64 of bytes [8, length)
///  8 u32 magic      "EFE1"
/// 12 u32 length     whole entry in bytes (must equal FASTER's record length)
/// 16 u32 epoch      store incarnation that wrote it (never decreases along the log)
/// 20 u32 eventCount
/// 24 i64 firstPosition
/// 32 i64 streamNumber
/// 40 i64 firstVersion
/// 48 i64 addedAt    unix milliseconds
/// 56 u16 nameLength
/// 58 u16 reserved
/// 60 stream name (UTF-8), then per event:
///    16 bytes id (ULID, big-endian) | i32 jsonLength | u16 messageIdLength | message id (UTF-8) | event JSON
/// </code>
/// A <b>scrubbed</b> event (FORGET, then compaction: <see cref="LogCompactor"/>) keeps its record's size and place, so
/// every index location stays valid: the top bit of jsonLength is set, the JSON area (the low 31 bits give its size)
/// holds the event's skeleton (its JSON without the <c>data</c> and <c>metadata</c> members, which always saves at least
/// 9 bytes), zeros up to 8 bytes before its end, and there the u64 checksum chain as it stood after this event
/// (<see cref="Chain"/>). CHECKSUM and every verification take that value instead of hashing the JSON, so the chain
/// stays what it was while the forgotten bytes are gone. The entry's own checksum is recomputed over the new bytes.
/// </summary>
internal static class LogEntryFormat
{
    public const uint Magic = 0x31454645; // "EFE1"
    public const int HeaderSize = 60;
    public const int EventFixedSize = 22;

    public const int ChecksumOffset = 0;
    public const int MagicOffset = 8;
    public const int LengthOffset = 12;
    public const int EpochOffset = 16;
    public const int EventCountOffset = 20;
    public const int FirstPositionOffset = 24;
    public const int StreamNumberOffset = 32;
    public const int FirstVersionOffset = 40;
    public const int AddedAtOffset = 48;
    public const int NameLengthOffset = 56;

    public static ulong ComputeChecksum(ReadOnlySpan<byte> entry) => XxHash64.HashToUInt64(entry[8..]);

    public static void WriteHeader(Span<byte> entry, uint epoch, int eventCount, long firstPosition, long streamNumber, long firstVersion, long addedAtMs, int nameLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(entry[MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[LengthOffset..], (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[EpochOffset..], epoch);
        BinaryPrimitives.WriteInt32LittleEndian(entry[EventCountOffset..], eventCount);
        BinaryPrimitives.WriteInt64LittleEndian(entry[FirstPositionOffset..], firstPosition);
        BinaryPrimitives.WriteInt64LittleEndian(entry[StreamNumberOffset..], streamNumber);
        BinaryPrimitives.WriteInt64LittleEndian(entry[FirstVersionOffset..], firstVersion);
        BinaryPrimitives.WriteInt64LittleEndian(entry[AddedAtOffset..], addedAtMs);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[NameLengthOffset..], (ushort)nameLength);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[(NameLengthOffset + 2)..], 0);
    }

    public static void Seal(Span<byte> entry) => BinaryPrimitives.WriteUInt64LittleEndian(entry, ComputeChecksum(entry));

    /// <summary>Writes one event record at <paramref name="destination"/>; returns its size.</summary>
    public static int WriteEvent(Span<byte> destination, UInt128 id, ReadOnlySpan<byte> messageId, ReadOnlySpan<byte> json)
    {
        UlidCodec.WriteBytes(id, destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], json.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[20..], (ushort)messageId.Length);
        messageId.CopyTo(destination[EventFixedSize..]);
        json.CopyTo(destination[(EventFixedSize + messageId.Length)..]);
        return EventFixedSize + messageId.Length + json.Length;
    }

    public static int EventSize(int messageIdLength, int jsonLength) => EventFixedSize + messageIdLength + jsonLength;

    /// <summary>The top bit of an event record's jsonLength field: the event is scrubbed.</summary>
    public const uint ScrubbedFlag = 0x8000_0000;

    /// <summary>Bytes of the chain value at the end of a scrubbed event's JSON area.</summary>
    public const int ChainValueSize = 8;

    /// <summary>The checksum chain after <paramref name="record"/>, given the chain before it (CHECKSUM's definition).</summary>
    public static ulong Chain(in EventRecord record, ulong before)
        => record.IsScrubbed ? record.ChainAfter : XxHash64.HashToUInt64(record.Json, (long)before);

    /// <summary>
    /// Scrubs the event record at <paramref name="offset"/> of <paramref name="entry"/> in place: its JSON area becomes the
    /// skeleton (<see cref="Skeleton"/>), zeros and <paramref name="chainAfter"/>. The caller reseals the entry
    /// (<see cref="Seal"/>) once all its events are done. Returns false when the event is scrubbed already.
    /// </summary>
    public static bool Scrub(Span<byte> entry, int offset, ulong chainAfter)
    {
        var record = new EventRecord(entry, offset);
        if (record.IsScrubbed)
        {
            return false;
        }

        int area = record.AreaLength;
        int jsonStart = offset + EventFixedSize + record.MessageIdLength;
        byte[] skeleton = Skeleton(record.Json);
        if (skeleton.Length + ChainValueSize > area)
        {
            throw new InvalidDataException($"Event record at offset {offset}: its skeleton of {skeleton.Length} bytes does not fit its {area}-byte JSON area.");
        }

        var target = entry.Slice(jsonStart, area);
        skeleton.CopyTo(target);
        target[skeleton.Length..^ChainValueSize].Clear(); // zeros: whole blocks of them can be punched out of the file (LogCompactor)
        BinaryPrimitives.WriteUInt64LittleEndian(target[^ChainValueSize..], chainAfter);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[(offset + 16)..], (uint)area | ScrubbedFlag);
        return true;
    }

    /// <summary>A stored event's JSON without its <c>data</c> and <c>metadata</c> members (every other member byte for byte).</summary>
    public static byte[] Skeleton(ReadOnlySpan<byte> json)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json);
        reader.Read(); // {
        var output = new byte[json.Length];
        int length = 0;
        output[length++] = (byte)'{';
        while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
        {
            int nameStart = (int)reader.TokenStartIndex;
            bool drop = reader.ValueTextEquals("data"u8) || reader.ValueTextEquals("metadata"u8);
            reader.Read();
            reader.Skip();
            int valueEnd = (int)reader.BytesConsumed;
            if (drop)
            {
                continue;
            }

            if (length > 1)
            {
                output[length++] = (byte)',';
            }

            json[nameStart..valueEnd].CopyTo(output.AsSpan(length));
            length += valueEnd - nameStart;
        }

        output[length++] = (byte)'}';
        return output.AsSpan(0, length).ToArray();
    }

    /// <summary>
    /// Full structural check of an entry: checksum, magic, length, and that every event record lies
    /// inside it. Returns null when valid, else the reason.
    /// </summary>
    public static string? Validate(ReadOnlySpan<byte> entry)
    {
        if (entry.Length < HeaderSize)
        {
            return $"entry of {entry.Length} bytes is shorter than the {HeaderSize}-byte header";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(entry[MagicOffset..]) != Magic)
        {
            return "bad magic";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(entry[LengthOffset..]) != (uint)entry.Length)
        {
            return "length field does not match the record length";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(entry) != ComputeChecksum(entry))
        {
            return "checksum mismatch";
        }

        var view = new EntryView(entry);
        if (view.EventCount <= 0 || HeaderSize + view.NameLength > entry.Length)
        {
            return "impossible event count or stream name length";
        }

        int offset = view.FirstEventOffset;
        for (int i = 0; i < view.EventCount; i++)
        {
            if (offset + EventFixedSize > entry.Length)
            {
                return "event record past the end of the entry";
            }

            var record = new EventRecord(entry, offset);
            if (record.JsonLength <= 0 || offset + record.Size > entry.Length)
            {
                return "event record past the end of the entry";
            }

            if (record.IsScrubbed && record.AreaLength <= ChainValueSize)
            {
                return "scrubbed event record too short for its chain value";
            }

            offset += record.Size;
        }

        return offset == entry.Length ? null : "trailing bytes after the last event";
    }
}

/// <summary>Read-only view over a validated entry.</summary>
internal readonly ref struct EntryView
{
    private readonly ReadOnlySpan<byte> _entry;

    public EntryView(ReadOnlySpan<byte> entry) => _entry = entry;

    public ReadOnlySpan<byte> Bytes => _entry;

    public uint Epoch => BinaryPrimitives.ReadUInt32LittleEndian(_entry[LogEntryFormat.EpochOffset..]);

    public int EventCount => BinaryPrimitives.ReadInt32LittleEndian(_entry[LogEntryFormat.EventCountOffset..]);

    public long FirstPosition => BinaryPrimitives.ReadInt64LittleEndian(_entry[LogEntryFormat.FirstPositionOffset..]);

    public long StreamNumber => BinaryPrimitives.ReadInt64LittleEndian(_entry[LogEntryFormat.StreamNumberOffset..]);

    public long FirstVersion => BinaryPrimitives.ReadInt64LittleEndian(_entry[LogEntryFormat.FirstVersionOffset..]);

    public long AddedAtMs => BinaryPrimitives.ReadInt64LittleEndian(_entry[LogEntryFormat.AddedAtOffset..]);

    public int NameLength => BinaryPrimitives.ReadUInt16LittleEndian(_entry[LogEntryFormat.NameLengthOffset..]);

    public ReadOnlySpan<byte> StreamName => _entry.Slice(LogEntryFormat.HeaderSize, NameLength);

    public int FirstEventOffset => LogEntryFormat.HeaderSize + NameLength;
}

/// <summary>One event record inside an entry, at a byte offset from the entry start.</summary>
internal readonly ref struct EventRecord
{
    private readonly ReadOnlySpan<byte> _bytes;

    public EventRecord(ReadOnlySpan<byte> entry, int offset) => _bytes = entry[offset..];

    public UInt128 Id => UlidCodec.ReadBytes(_bytes);

    /// <summary>True when the event was scrubbed (<see cref="LogEntryFormat.Scrub"/>): its data and metadata are gone.</summary>
    public bool IsScrubbed => (BinaryPrimitives.ReadUInt32LittleEndian(_bytes[16..]) & LogEntryFormat.ScrubbedFlag) != 0;

    /// <summary>Bytes of the JSON area (the JSON as written; for a scrubbed event skeleton, spaces and chain value).</summary>
    public int AreaLength => (int)(BinaryPrimitives.ReadUInt32LittleEndian(_bytes[16..]) & ~LogEntryFormat.ScrubbedFlag);

    /// <summary>Bytes of <see cref="Json"/>.</summary>
    public int JsonLength => IsScrubbed ? Json.Length : AreaLength;

    public int MessageIdLength => BinaryPrimitives.ReadUInt16LittleEndian(_bytes[20..]);

    public ReadOnlySpan<byte> MessageId => _bytes.Slice(LogEntryFormat.EventFixedSize, MessageIdLength);

    /// <summary>The event's JSON as stored; for a scrubbed event its skeleton (the zeros after it left out).</summary>
    public ReadOnlySpan<byte> Json => IsScrubbed
        ? _bytes.Slice(LogEntryFormat.EventFixedSize + MessageIdLength, AreaLength - LogEntryFormat.ChainValueSize).TrimEnd((byte)0)
        : _bytes.Slice(LogEntryFormat.EventFixedSize + MessageIdLength, AreaLength);

    /// <summary>The checksum chain after a scrubbed event (meaningless for others).</summary>
    public ulong ChainAfter => BinaryPrimitives.ReadUInt64LittleEndian(_bytes[(LogEntryFormat.EventFixedSize + MessageIdLength + AreaLength - LogEntryFormat.ChainValueSize)..]);

    public int Size => LogEntryFormat.EventFixedSize + MessageIdLength + AreaLength;
}
