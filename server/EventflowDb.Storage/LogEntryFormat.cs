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

    public int JsonLength => BinaryPrimitives.ReadInt32LittleEndian(_bytes[16..]);

    public int MessageIdLength => BinaryPrimitives.ReadUInt16LittleEndian(_bytes[20..]);

    public ReadOnlySpan<byte> MessageId => _bytes.Slice(LogEntryFormat.EventFixedSize, MessageIdLength);

    public ReadOnlySpan<byte> Json => _bytes.Slice(LogEntryFormat.EventFixedSize + MessageIdLength, JsonLength);

    public int Size => LogEntryFormat.EventFixedSize + MessageIdLength + JsonLength;
}
