using System.Buffers.Binary;
using System.Globalization;

namespace EventflowDb.Storage;

/// <summary>What a repair did.</summary>
/// <param name="PositionsThrough">One past the highest event position a valid entry after the damage held (0 when none).</param>
/// <param name="LostControlRecords">Control records (acknowledged lifecycle changes) found in the cut part of the log.</param>
internal readonly record struct RepairResult(string DamagedDirectory, long PositionsThrough, long LostControlRecords = 0);

/// <summary>
/// <c>--repair</c>: keeps the damaged files, then makes the log end at the damage. The segment holding the damage
/// is copied to <c>damaged-&lt;UTC timestamp&gt;/</c>, later segments are moved there, and the damaged segment is
/// zeroed from the damage to the end of its page and cut short after it; a snapshot that covers the cut part goes
/// there too. Nothing valid is left past the new end, so later recoveries cannot mistake it for the log.
/// </summary>
internal static class LogRepair
{
    /// <param name="snapshotCovered">The log address the snapshot covers, and <paramref name="snapshotEvents"/> the events it counts.</param>
    public static RepairResult Repair(string dataDirectory, LogFileReader files, LogLayout layout, LogDamage damage, string snapshotPath, long snapshotCovered, long snapshotEvents)
    {
        var segments = files.ExistingSegments();
        long through = PositionsThrough(files, layout, segments, damage.Address);
        long controls = ControlRecordsFrom(files, layout, segments, damage.Address);
        if (snapshotCovered > damage.Address)
        {
            through = Math.Max(through, snapshotEvents);
        }

        string target = Path.Combine(dataDirectory, "damaged-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture));
        for (int attempt = 1; Directory.Exists(target); attempt++)
        {
            target = $"{target}-{attempt}";
        }

        Directory.CreateDirectory(target);
        int damaged = layout.Segment(damage.Address);
        foreach (int segment in segments.Where(s => s >= damaged))
        {
            string path = files.SegmentPath(segment);
            string copy = Path.Combine(target, Path.GetFileName(path));
            if (segment == damaged)
            {
                File.Copy(path, copy);
            }
            else
            {
                File.Move(path, copy);
            }
        }

        if (File.Exists(snapshotPath) && snapshotCovered > damage.Address)
        {
            File.Move(snapshotPath, Path.Combine(target, Path.GetFileName(snapshotPath)));
        }

        AtomicFile.SyncDirectory(target);
        string damagedPath = files.SegmentPath(damaged);
        if (File.Exists(damagedPath))
        {
            using var stream = new FileStream(damagedPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            long offset = layout.OffsetInSegment(damage.Address);
            long pageEnd = offset + (layout.NextPageStart(damage.Address) - damage.Address);
            if (stream.Length > offset)
            {
                stream.Position = offset;
                stream.Write(new byte[Math.Min(pageEnd, stream.Length) - offset]);
            }

            if (stream.Length > pageEnd)
            {
                stream.SetLength(pageEnd);
            }

            stream.Flush(flushToDisk: true);
        }

        AtomicFile.SyncDirectory(Path.GetDirectoryName(damagedPath)!);
        AtomicFile.SyncDirectory(dataDirectory);
        return new RepairResult(target, through, controls);
    }

    /// <summary>
    /// Control records (DELETE, TRUNCATE, STREAMMETA, SNAPSHOT, FORGET) the cut removes: every readable record whose
    /// payload has the control magic, on each page from the damage to the end of the last segment (a page is read up to
    /// its first unreadable record). Their positions are not event positions, so <see cref="PositionsThrough"/> misses them.
    /// </summary>
    private static long ControlRecordsFrom(LogFileReader files, LogLayout layout, IReadOnlyList<int> segments, long from)
    {
        if (segments.Count == 0)
        {
            return 0;
        }

        long end = (long)(segments[^1] + 1) << layout.SegmentSizeBits;
        var scanner = new LogRecordScanner(files, layout, layout.PageSize);
        long found = 0;
        for (long page = layout.PageStart(from); page < end; page += layout.PageSize)
        {
            scanner.Invalidate();
            scanner.Address = Math.Max(Math.Max(page, from), LogLayout.FirstValidAddress);
            while (true)
            {
                var kind = scanner.Next(page + layout.PageSize);
                if (kind is RecordKind.End or RecordKind.Zero or RecordKind.Invalid)
                {
                    break;
                }

                if (kind == RecordKind.Entry && ControlRecordFormat.IsControl(scanner.Payload))
                {
                    found++;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// One past the highest position the log's entries after <paramref name="from"/> hold, judged by the last page that
    /// holds a valid entry (scanning back from the end of the last segment); 0 when there is none.
    /// </summary>
    private static long PositionsThrough(LogFileReader files, LogLayout layout, IReadOnlyList<int> segments, long from)
    {
        if (segments.Count == 0)
        {
            return 0;
        }

        long end = (long)(segments[^1] + 1) << layout.SegmentSizeBits;
        var scanner = new LogRecordScanner(files, layout, layout.PageSize);
        for (long page = end - layout.PageSize; page >= layout.PageStart(from); page -= layout.PageSize)
        {
            long pageEnd = page + layout.PageSize;
            scanner.Invalidate();
            scanner.Address = Math.Max(Math.Max(page, from), LogLayout.FirstValidAddress);
            long through = -1;
            while (true)
            {
                var kind = scanner.Next(pageEnd);
                if (kind is RecordKind.End or RecordKind.Zero or RecordKind.Invalid)
                {
                    break;
                }

                if (kind == RecordKind.Entry && PlausibleEnd(scanner.Payload) is { } entryEnd)
                {
                    through = Math.Max(through, entryEnd);
                }
            }

            if (through >= 0)
            {
                return through;
            }
        }

        return 0;
    }

    /// <summary>
    /// One past the last position an entry holds, judged by its header even when its checksum fails (a damaged entry
    /// still counts as lost), or null when the header is not an entry's.
    /// </summary>
    private static long? PlausibleEnd(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < LogEntryFormat.HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(payload[LogEntryFormat.MagicOffset..]) != LogEntryFormat.Magic)
        {
            return null;
        }

        var view = new EntryView(payload);
        return view.EventCount > 0 && view.EventCount <= payload.Length / LogEntryFormat.EventFixedSize && view.FirstPosition >= 0
            ? view.FirstPosition + view.EventCount
            : null;
    }

    /// <summary>Non-zero bytes in [<paramref name="from"/>, <paramref name="to"/>) of the log.</summary>
    public static long CountNonZero(LogFileReader files, long from, long to)
    {
        var bytes = new byte[to - from];
        files.Read(from, bytes);
        return bytes.Length - bytes.AsSpan().Count((byte)0);
    }

    /// <summary>Writes zeros over [<paramref name="from"/>, <paramref name="to"/>) of the log's existing segment files, durably.</summary>
    public static void Zero(LogFileReader files, LogLayout layout, long from, long to)
    {
        while (from < to)
        {
            long segmentEnd = ((long)layout.Segment(from) + 1) << layout.SegmentSizeBits;
            long until = Math.Min(to, segmentEnd);
            string path = files.SegmentPath(layout.Segment(from));
            if (File.Exists(path))
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                long offset = layout.OffsetInSegment(from);
                if (offset < stream.Length)
                {
                    stream.Position = offset;
                    stream.Write(new byte[Math.Min(until - from, stream.Length - offset)]);
                    stream.Flush(flushToDisk: true);
                }
            }

            from = until;
        }
    }
}
