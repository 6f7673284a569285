using System.Buffers.Binary;

namespace EventflowDb.Storage;

/// <summary>What <see cref="LogRecordScanner.Next"/> found.</summary>
internal enum RecordKind
{
    /// <summary>Reached the limit address.</summary>
    End,

    /// <summary>A record with a positive length (one of our entries, still to be validated).</summary>
    Entry,

    /// <summary>A FasterLog commit record (negative length).</summary>
    CommitRecord,

    /// <summary>A zero length: page padding, or the end of the written log.</summary>
    Zero,

    /// <summary>A length that cannot be a record here.</summary>
    Invalid,
}

/// <summary>
/// Walks FasterLog records directly in the segment files (see <see cref="LogLayout"/>), through a window
/// buffer, so sequential scans cost one read per window.
/// </summary>
internal sealed class LogRecordScanner
{
    private readonly LogFileReader _reader;
    private readonly LogLayout _layout;
    private readonly int _windowSize;
    private byte[] _buffer;
    private long _bufferStart = -1;
    private int _bufferLength;

    public LogRecordScanner(LogFileReader reader, LogLayout layout, int windowSize)
    {
        _reader = reader;
        _layout = layout;
        _windowSize = windowSize;
        _buffer = new byte[windowSize];
    }

    /// <summary>Address of the next record to read.</summary>
    public long Address { get; set; }

    /// <summary>Address of the record last returned.</summary>
    public long RecordAddress { get; private set; }

    /// <summary>Payload of the record last returned (valid until the next call).</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_payloadOffset, _payloadLength);

    /// <summary>Why the last record was <see cref="RecordKind.Invalid"/>.</summary>
    public string Problem { get; private set; } = string.Empty;

    private int _payloadOffset;
    private int _payloadLength;

    /// <summary>Forgets buffered bytes (after the file was changed underneath).</summary>
    public void Invalidate() => _bufferStart = -1;

    public RecordKind Next(long limit)
    {
        while (true)
        {
            if (Address >= limit)
            {
                return RecordKind.End;
            }

            int offset = _layout.OffsetInPage(Address);
            if (_layout.PageSize - offset < LogLayout.RecordHeaderSize)
            {
                Address = _layout.NextPageStart(Address);
                continue;
            }

            RecordAddress = Address;
            Ensure(Address, LogLayout.RecordHeaderSize);
            int length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan((int)(Address - _bufferStart)));
            if (length == 0)
            {
                return RecordKind.Zero;
            }

            long magnitude = Math.Abs((long)length);
            long size = LogLayout.RecordHeaderSize + ((magnitude + 3) & ~3L);
            if (offset + size > _layout.PageSize)
            {
                Problem = $"record length {length} does not fit in the page at offset {offset}";
                return RecordKind.Invalid;
            }

            Ensure(Address, (int)size);
            _payloadOffset = (int)(Address - _bufferStart) + LogLayout.RecordHeaderSize;
            _payloadLength = (int)magnitude;
            Address += size;
            return length > 0 ? RecordKind.Entry : RecordKind.CommitRecord;
        }
    }

    /// <summary>Moves to the start of the page after the current address (past padding).</summary>
    public void SkipToNextPage() => Address = _layout.NextPageStart(Address);

    /// <summary>
    /// The next entry of a committed log (page padding and FasterLog's commit records skipped): true with
    /// <see cref="Payload"/> set, false at <paramref name="limit"/>. A record that cannot be read there is damage:
    /// it throws, its message starting with <paramref name="what"/>.
    /// </summary>
    public bool NextEntry(long limit, string what)
    {
        while (true)
        {
            switch (Next(limit))
            {
                case RecordKind.End:
                    return false;
                case RecordKind.Zero:
                    SkipToNextPage();
                    continue;
                case RecordKind.CommitRecord:
                    continue;
                case RecordKind.Invalid:
                    throw new InvalidDataException($"{what}: {Problem} at address {RecordAddress}.");
                default:
                    return true;
            }
        }
    }

    private void Ensure(long address, int size)
    {
        if (_bufferStart >= 0 && address >= _bufferStart && address + size <= _bufferStart + _bufferLength)
        {
            return;
        }

        int length = Math.Max(size, _windowSize);
        if (_buffer.Length < length)
        {
            _buffer = new byte[length];
        }

        _reader.Read(address, _buffer.AsSpan(0, length));
        _bufferStart = address;
        _bufferLength = length;
    }
}
