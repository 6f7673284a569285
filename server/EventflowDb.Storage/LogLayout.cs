namespace EventflowDb.Storage;

/// <summary>
/// How FasterLog 2.6.5 lays records out on disk (no FASTER checksum): each record is a 4-byte
/// little-endian length followed by the payload padded to 4 bytes; a record never crosses a page, the
/// rest of a page that cannot hold the next record stays zero, and commit records (FastCommitMode) carry
/// a negative length. Logical address = byte offset in the concatenated segment files.
/// </summary>
internal readonly struct LogLayout
{
    /// <summary>FASTER's first valid logical address.</summary>
    public const long FirstValidAddress = 64;

    /// <summary>Bytes of FasterLog's record header (length only, no FASTER checksum).</summary>
    public const int RecordHeaderSize = 4;

    public LogLayout(int pageSizeBits, int segmentSizeBits)
    {
        PageSizeBits = pageSizeBits;
        SegmentSizeBits = segmentSizeBits;
    }

    public int PageSizeBits { get; }

    public int SegmentSizeBits { get; }

    public int PageSize => 1 << PageSizeBits;

    public long SegmentSize => 1L << SegmentSizeBits;

    /// <summary>Entries up to this many bytes are read whole by stream reads and indexed sparsely (<see cref="VersionKeys"/>); larger ones event by event.</summary>
    public int WholeEntryReadLimit => Math.Min(64 * 1024, PageSize / 2);

    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>Address just past a record whose payload is <paramref name="payloadLength"/> bytes.</summary>
    public static long RecordEnd(long address, int payloadLength) => address + RecordHeaderSize + Align(payloadLength);

    public long PageStart(long address) => address & ~((long)PageSize - 1);

    public long NextPageStart(long address) => PageStart(address) + PageSize;

    public int OffsetInPage(long address) => (int)(address & (PageSize - 1));

    public int Segment(long address) => (int)(address >> SegmentSizeBits);

    public long OffsetInSegment(long address) => address & (SegmentSize - 1);
}
