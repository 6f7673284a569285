using System.Buffers.Binary;

namespace EventflowDb.Storage;

/// <summary>What a control record changes (<see cref="ControlRecordFormat"/>).</summary>
internal enum ControlKind
{
    /// <summary>DELETE: A = the stream's count (versions below it are hidden; the stream leaves LISTSTREAMS until written again).</summary>
    Delete = 1,

    /// <summary>TRUNCATE: A = the version below which events are hidden.</summary>
    Truncate = 2,

    /// <summary>
    /// STREAMMETA SET: A = maxCount, B = maxAge in ms (0 = none; <see cref="ControlRecordFormat.Unchanged"/> = the field
    /// keeps its value, merged in log order). Records written before -1 existed carry both fields and mean what they say.
    /// </summary>
    Metadata = 3,

    /// <summary>SNAPSHOT SAVE: A = the version the snapshot is of; the data follows the stream name.</summary>
    Snapshot = 4,

    /// <summary>FORGET: A = the stream's count (events below it render without data and metadata).</summary>
    Forget = 5,

    /// <summary>
    /// Padding that fills the rest of the log page (zeros after the stream name), written by a compaction on a forgotten
    /// stream so that the page holding its last events is sealed and can be scrubbed; changes nothing.
    /// </summary>
    Padding = 6,
}

/// <summary>
/// A control record: one FasterLog record per lifecycle change of a stream (DELETE, TRUNCATE, STREAMMETA SET, SNAPSHOT
/// SAVE, FORGET), written, committed and replayed in log order with the event entries. It takes no event position and
/// does not enter the checksum chain. The first 20 bytes and the position, stream-number and time fields lie where an
/// event entry has them, so the epoch and position checks read both alike. Little-endian layout:
/// <code>
///  0 u64 checksum   XxHash64 of bytes [8, length)
///  8 u32 magic      "EFC1"
/// 12 u32 length     whole record in bytes (must equal FASTER's record length)
/// 16 u32 epoch      store incarnation that wrote it
/// 20 u32 kind       <see cref="ControlKind"/>
/// 24 i64 position   the global position the next event gets (the event count of the log before this record)
/// 32 i64 streamNumber
/// 40 i64 a          kind-specific (see <see cref="ControlKind"/>)
/// 48 i64 addedAt    unix milliseconds
/// 56 u16 nameLength
/// 58 u16 reserved
/// 60 i64 b          kind-specific
/// 68 stream name (UTF-8), then the snapshot's data (JSON value as given) for <see cref="ControlKind.Snapshot"/>
/// </code>
/// </summary>
internal static class ControlRecordFormat
{
    /// <summary>A STREAMMETA field the change leaves as it is (A or B of a <see cref="ControlKind.Metadata"/> record).</summary>
    public const long Unchanged = -1;

    public const uint Magic = 0x31434645; // "EFC1"
    public const int HeaderSize = 68;
    public const int KindOffset = 20;
    public const int ValueAOffset = 40;
    public const int ValueBOffset = 60;

    /// <summary>True when the record's magic is a control record's (the record is not yet validated).</summary>
    public static bool IsControl(ReadOnlySpan<byte> record)
        => record.Length >= HeaderSize && BinaryPrimitives.ReadUInt32LittleEndian(record[LogEntryFormat.MagicOffset..]) == Magic;

    /// <summary>The size of a control record for a stream name and data of these lengths.</summary>
    public static int Size(int nameLength, int dataLength) => HeaderSize + nameLength + dataLength;

    /// <summary>Writes a whole record into <paramref name="record"/> (sized by <see cref="Size"/>) and seals it.</summary>
    public static void Write(Span<byte> record, uint epoch, ControlKind kind, long position, long streamNumber, long a, long b, long addedAtMs, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record[LogEntryFormat.MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(record[LogEntryFormat.LengthOffset..], (uint)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[LogEntryFormat.EpochOffset..], epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(record[KindOffset..], (uint)kind);
        BinaryPrimitives.WriteInt64LittleEndian(record[LogEntryFormat.FirstPositionOffset..], position);
        BinaryPrimitives.WriteInt64LittleEndian(record[LogEntryFormat.StreamNumberOffset..], streamNumber);
        BinaryPrimitives.WriteInt64LittleEndian(record[ValueAOffset..], a);
        BinaryPrimitives.WriteInt64LittleEndian(record[LogEntryFormat.AddedAtOffset..], addedAtMs);
        BinaryPrimitives.WriteUInt16LittleEndian(record[LogEntryFormat.NameLengthOffset..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(record[(LogEntryFormat.NameLengthOffset + 2)..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(record[ValueBOffset..], b);
        name.CopyTo(record[HeaderSize..]);
        data.CopyTo(record[(HeaderSize + name.Length)..]);
        LogEntryFormat.Seal(record);
    }

    /// <summary>Full structural check: checksum, magic, length, kind, name inside the record. Null when valid, else the reason.</summary>
    public static string? Validate(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize)
        {
            return $"control record of {record.Length} bytes is shorter than the {HeaderSize}-byte header";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(record[LogEntryFormat.MagicOffset..]) != Magic)
        {
            return "bad magic";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(record[LogEntryFormat.LengthOffset..]) != (uint)record.Length)
        {
            return "length field does not match the record length";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(record) != LogEntryFormat.ComputeChecksum(record))
        {
            return "checksum mismatch";
        }

        var view = new ControlView(record);
        if (view.Kind is < ControlKind.Delete or > ControlKind.Padding || HeaderSize + view.NameLength > record.Length)
        {
            return "impossible control kind or stream name length";
        }

        return view.Kind is not (ControlKind.Snapshot or ControlKind.Padding) && view.Data.Length != 0 ? "trailing bytes after the stream name" : null;
    }
}

/// <summary>Read-only view over a validated control record.</summary>
internal readonly ref struct ControlView
{
    private readonly ReadOnlySpan<byte> _record;

    public ControlView(ReadOnlySpan<byte> record) => _record = record;

    public uint Epoch => BinaryPrimitives.ReadUInt32LittleEndian(_record[LogEntryFormat.EpochOffset..]);

    public ControlKind Kind => (ControlKind)BinaryPrimitives.ReadUInt32LittleEndian(_record[ControlRecordFormat.KindOffset..]);

    public long Position => BinaryPrimitives.ReadInt64LittleEndian(_record[LogEntryFormat.FirstPositionOffset..]);

    public long StreamNumber => BinaryPrimitives.ReadInt64LittleEndian(_record[LogEntryFormat.StreamNumberOffset..]);

    public long A => BinaryPrimitives.ReadInt64LittleEndian(_record[ControlRecordFormat.ValueAOffset..]);

    public long B => BinaryPrimitives.ReadInt64LittleEndian(_record[ControlRecordFormat.ValueBOffset..]);

    public long AddedAtMs => BinaryPrimitives.ReadInt64LittleEndian(_record[LogEntryFormat.AddedAtOffset..]);

    public int NameLength => BinaryPrimitives.ReadUInt16LittleEndian(_record[LogEntryFormat.NameLengthOffset..]);

    public ReadOnlySpan<byte> StreamName => _record.Slice(ControlRecordFormat.HeaderSize, NameLength);

    public ReadOnlySpan<byte> Data => _record[(ControlRecordFormat.HeaderSize + NameLength)..];

    public ControlChange Change => new(Kind, A, B, AddedAtMs);
}

/// <summary>What a control record changes, as the committer and recovery apply it to the stream's <see cref="StreamLifecycle"/>.</summary>
internal readonly record struct ControlChange(ControlKind Kind, long A, long B, long AddedAtMs);
