using System.Buffers.Binary;
using System.Diagnostics;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>Damage found at open: the log address recovery would have to cut at, and why.</summary>
internal readonly record struct LogDamage(long Address, string Reason);

/// <summary>
/// Tells a torn tail from damage. The log device writes in address order (OrderedWriteDevice), so a
/// crash leaves a prefix of the log on disk and at most one partly written page at its end: a bad record with
/// nothing valid after it is a write the crash interrupted, which was never acknowledged. A valid record after a
/// bad one, damage below what a checkpoint covered, or a missing segment file can only come from the disk or from
/// someone changing the files: that is damage, and recovery refuses to cut it on its own.
/// </summary>
internal static class LogDamageCheck
{
    /// <summary>A segment file missing between existing ones, or below what the snapshot covers.</summary>
    public static LogDamage? FindMissingSegment(IReadOnlyList<int> segments, LogLayout layout, long coveredAddress)
    {
        int expected = 0;
        foreach (int segment in segments)
        {
            if (segment != expected)
            {
                return MissingSegment(expected, layout);
            }

            expected++;
        }

        if (coveredAddress > LogLayout.FirstValidAddress && layout.Segment(coveredAddress - 1) >= expected)
        {
            return MissingSegment(expected, layout);
        }

        return null;
    }

    /// <summary>
    /// Checks the whole log the snapshot covers: every record valid (entry checksums included), positions without gaps,
    /// and the last entry the one the snapshot counted last, ending at the covered address. Replay only reads what
    /// follows the snapshot, so damage inside the covered log would otherwise go unnoticed until a read served it.
    /// </summary>
    public static LogDamage? VerifyCovered(LogFileReader files, LogLayout layout, StoreSnapshot snapshot, ILogger logger)
    {
        long covered = snapshot.CoveredAddress;
        if (covered <= LogLayout.FirstValidAddress)
        {
            return snapshot.EventCount == 0 ? null : new LogDamage(LogLayout.FirstValidAddress, $"the checkpoint counts {snapshot.EventCount} events but covers no log");
        }

        var scanner = new LogRecordScanner(files, layout, Math.Max(layout.PageSize, 1 << 20)) { Address = LogLayout.FirstValidAddress };
        long lastEntryEnd = -1;
        long expectedPosition = 0;
        UInt128 lastId = default;
        var progress = Stopwatch.StartNew();
        while (scanner.Address < covered)
        {
            var kind = scanner.Next(covered);
            switch (kind)
            {
                case RecordKind.End:
                    return new LogDamage(scanner.Address, "the log ends inside what a checkpoint covers");
                case RecordKind.Zero when layout.OffsetInPage(scanner.RecordAddress) == 0:
                    return new LogDamage(scanner.RecordAddress, "zeros inside the log a checkpoint covers");
                case RecordKind.Zero:
                    scanner.SkipToNextPage();
                    break;
                case RecordKind.Invalid:
                    return new LogDamage(scanner.RecordAddress, $"{scanner.Problem} inside the log a checkpoint covers");
                case RecordKind.CommitRecord when CommitRecord.Number(scanner.Payload, scanner.Address) is null:
                    return new LogDamage(scanner.RecordAddress, "invalid commit record inside the log a checkpoint covers");
                case RecordKind.Entry when ControlRecordFormat.IsControl(scanner.Payload):
                    if (ControlRecordFormat.Validate(scanner.Payload) is { } controlProblem)
                    {
                        return new LogDamage(scanner.RecordAddress, $"{controlProblem} inside the log a checkpoint covers");
                    }

                    if (new ControlView(scanner.Payload).Position != expectedPosition)
                    {
                        return new LogDamage(scanner.RecordAddress, $"control record at position {new ControlView(scanner.Payload).Position} where {expectedPosition} was expected, inside the log a checkpoint covers");
                    }

                    lastEntryEnd = scanner.Address;
                    break;
                case RecordKind.Entry when LogEntryFormat.Validate(scanner.Payload) is { } problem:
                    return new LogDamage(scanner.RecordAddress, $"{problem} inside the log a checkpoint covers");
                case RecordKind.Entry:
                    var view = new EntryView(scanner.Payload);
                    if (view.FirstPosition != expectedPosition)
                    {
                        return new LogDamage(scanner.RecordAddress, $"position {view.FirstPosition} where {expectedPosition} was expected, inside the log a checkpoint covers");
                    }

                    lastEntryEnd = scanner.Address;
                    expectedPosition += view.EventCount;
                    lastId = LastId(scanner.Payload);
                    break;
            }

            if (progress.ElapsedMilliseconds >= 2000)
            {
                logger.Information("Recovery: verified the log up to address {Address} of {Covered}", scanner.Address, covered);
                progress.Restart();
            }
        }

        if (lastEntryEnd != covered || expectedPosition != snapshot.EventCount || lastId != snapshot.LastId)
        {
            return new LogDamage(Math.Max(LogLayout.FirstValidAddress, lastEntryEnd), $"the log a checkpoint covers does not end with the entry it counted last (position {snapshot.EventCount - 1}) at address {covered}");
        }

        return null;
    }

    /// <summary>
    /// The first valid record at or after <paramref name="tail"/> that the last run may have written: an entry with
    /// a checksum that holds and an epoch no older than the log's last entry, or a well-formed commit record newer
    /// than the last one replayed. Searches every 4-byte boundary of the rest of the tail's page (a damaged record
    /// hides where the next one starts) and the first record of every later page up to the end of the last segment.
    /// </summary>
    public static LogDamage? FindValidRecordAfter(LogFileReader files, LogLayout layout, ReplayOutcome outcome, int lastSegment)
    {
        long tail = outcome.Tail;
        long pageEnd = layout.NextPageStart(tail);
        var page = new byte[pageEnd - tail];
        files.Read(tail, page);
        for (int offset = 0; offset + LogLayout.RecordHeaderSize <= page.Length; offset += 4)
        {
            if (Describe(page.AsSpan(offset), tail + offset, outcome) is { } found)
            {
                return Damage(outcome, tail + offset, found);
            }
        }

        long end = (long)(lastSegment + 1) << layout.SegmentSizeBits;
        var record = new byte[layout.PageSize];
        for (long address = pageEnd; address < end; address += layout.PageSize)
        {
            var header = record.AsSpan(0, LogLayout.RecordHeaderSize);
            files.Read(address, header);
            int length = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (length == 0 || Math.Abs((long)length) > layout.PageSize - LogLayout.RecordHeaderSize)
            {
                continue;
            }

            int size = LogLayout.RecordHeaderSize + LogLayout.Align((int)Math.Abs((long)length));
            files.Read(address, record.AsSpan(0, size));
            if (Describe(record.AsSpan(0, size), address, outcome) is { } found)
            {
                return Damage(outcome, address, found);
            }
        }

        return null;
    }

    /// <summary>What valid record starts at <paramref name="bytes"/>, or null.</summary>
    private static string? Describe(ReadOnlySpan<byte> bytes, long address, ReplayOutcome outcome)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (length == 0 || length == int.MinValue)
        {
            return null;
        }

        int magnitude = Math.Abs(length);
        long size = LogLayout.RecordHeaderSize + LogLayout.Align(magnitude);
        if (size > bytes.Length)
        {
            return null;
        }

        var payload = bytes.Slice(LogLayout.RecordHeaderSize, magnitude);
        if (length < 0)
        {
            return CommitRecord.Number(payload, address + size) is { } number && number > outcome.MaxCommitNumber
                ? $"commit record {number}"
                : null;
        }

        if (ControlRecordFormat.IsControl(payload))
        {
            return ControlRecordFormat.Validate(payload) is null && new ControlView(payload).Epoch >= outcome.LastEpoch
                ? $"control record before position {new ControlView(payload).Position}"
                : null;
        }

        // The magic first: most offsets fail there, before the checksum is computed.
        if (magnitude < LogEntryFormat.HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(payload[LogEntryFormat.MagicOffset..]) != LogEntryFormat.Magic
            || LogEntryFormat.Validate(payload) is not null)
        {
            return null;
        }

        var view = new EntryView(payload);
        return view.Epoch >= outcome.LastEpoch ? $"entry of position {view.FirstPosition}" : null;
    }

    private static LogDamage Damage(ReplayOutcome outcome, long validAt, string found)
    {
        long at = outcome.ProblemAddress >= 0 ? outcome.ProblemAddress : outcome.Tail;
        string what = outcome.Problem ?? "the log stops";
        return new LogDamage(at, $"{what}, but a valid {found} follows at address {validAt}");
    }

    private static LogDamage MissingSegment(int segment, LogLayout layout)
        => new(Math.Max(LogLayout.FirstValidAddress, (long)segment << layout.SegmentSizeBits), $"segment file {segment} is missing");

    private static UInt128 LastId(ReadOnlySpan<byte> entry)
    {
        var view = new EntryView(entry);
        int offset = view.FirstEventOffset;
        UInt128 last = default;
        for (int i = 0; i < view.EventCount; i++)
        {
            var record = new EventRecord(entry, offset);
            last = record.Id;
            offset += record.Size;
        }

        return last;
    }
}
