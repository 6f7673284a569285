using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>What recovery found and did.</summary>
public sealed class RecoveryReport
{
    /// <summary>Log address where the snapshot left off (replay started here).</summary>
    public long ReplayedFrom { get; init; }

    /// <summary>End of the last valid record: the new tail of the log.</summary>
    public long Tail { get; init; }

    /// <summary>Entries (ADDs) replayed from the log into the index and state.</summary>
    public long ReplayedEntries { get; init; }

    /// <summary>Events in the replayed entries.</summary>
    public long ReplayedEvents { get; init; }

    /// <summary>True when a snapshot was loaded (so only the tail after it was replayed).</summary>
    public bool FromSnapshot { get; init; }

    /// <summary>Why the scan stopped before clean zeros, or null for a clean end.</summary>
    public string? TailProblem { get; init; }

    /// <summary>Non-zero bytes found (and zeroed) after the tail in the tail's page.</summary>
    public long IgnoredBytes { get; init; }

    /// <summary>Wall time of the whole open, in milliseconds.</summary>
    public long ElapsedMs { get; set; }

    /// <summary>Hash-index checkpoint the index was recovered from (empty when rebuilt).</summary>
    internal Guid IndexToken { get; init; }

    internal uint MaxEpoch { get; init; }

    internal long MaxCommitNumber { get; init; }
}

/// <summary>
/// Explicit recovery from the log files, not FasterLog's own (which swallows errors and trusts the
/// last commit record it finds). Starts from the snapshot's covered address and accepts a record only
/// if it is structurally sound, passes our checksum, continues the position sequence, fits the stream
/// table, and was written by an epoch no older than the entry before it and older than this run. The
/// first record that fails ends the log: the tail is set there and the rest of that page is zeroed.
/// </summary>
internal static class Recovery
{
    public static void LoadSnapshot(StoreSnapshot snapshot, CommittedState state)
    {
        for (long i = 0; i < snapshot.StreamNames.LongLength; i++)
        {
            var stream = state.Streams.Add(snapshot.StreamNames[i], snapshot.StreamCreated[i]);
            stream.SetCommitted(snapshot.StreamCounts[i], snapshot.StreamUpdated[i]);
            stream.PendingCount = snapshot.StreamCounts[i];
        }

        foreach (var (id, address) in snapshot.SparsePoints)
        {
            state.Sparse.Add(id, address);
        }

        state.Restore(snapshot.CoveredAddress, snapshot.EventCount, snapshot.StreamNames.LongLength, snapshot.EntryCount, snapshot.LastId, snapshot.Hash);
    }

    public static RecoveryReport ReplayLog(
        LogFileReader files,
        LogLayout layout,
        CommittedState state,
        EventIndex index,
        uint currentEpoch,
        StoreSnapshot? snapshot,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        long from = state.AppliedEnd;
        var scanner = new LogRecordScanner(files, layout, 1 << 20) { Address = from };
        long lastGoodEnd = from;
        long expectedPosition = state.EventCount;
        uint lastEpoch = 0;
        uint maxEpoch = 0;
        long maxCommit = 0;
        long entries = 0;
        long events = 0;
        string? problem = null;
        var progress = Stopwatch.StartNew();

        while (problem is null)
        {
            var kind = scanner.Next(long.MaxValue);
            if (kind == RecordKind.Zero)
            {
                // Padding at the end of a page, or the end of the log when nothing valid follows.
                if (layout.OffsetInPage(scanner.RecordAddress) == 0)
                {
                    break;
                }

                scanner.SkipToNextPage();
                continue;
            }

            if (kind == RecordKind.Invalid)
            {
                problem = $"{scanner.Problem} at address {scanner.RecordAddress}";
                break;
            }

            var payload = scanner.Payload;
            if (kind == RecordKind.CommitRecord)
            {
                // FasterLog commit record: version, checksum, begin, until (= its own end), commit number, ...
                if (payload.Length < 36 || BinaryPrimitives.ReadInt32LittleEndian(payload) != 1 || BinaryPrimitives.ReadInt64LittleEndian(payload[20..]) != scanner.Address)
                {
                    problem = $"invalid commit record at address {scanner.RecordAddress}";
                    break;
                }

                maxCommit = Math.Max(maxCommit, BinaryPrimitives.ReadInt64LittleEndian(payload[28..]));
                lastGoodEnd = scanner.Address;
                continue;
            }

            problem = CheckEntry(payload, state, expectedPosition, lastEpoch, currentEpoch);
            if (problem is not null)
            {
                problem = $"{problem} in the entry at address {scanner.RecordAddress}";
                break;
            }

            var view = new EntryView(payload);
            var stream = view.StreamNumber == state.Streams.Count
                ? state.Streams.Add(Encoding.UTF8.GetString(view.StreamName), view.AddedAtMs)
                : state.Streams[view.StreamNumber];
            int offset = view.FirstEventOffset;
            bool sparse = VersionKeys.IsSparse(payload.Length, layout);
            for (int i = 0; i < view.EventCount; i++)
            {
                var record = new EventRecord(payload, offset);
                var location = new IndexValue { Address = scanner.RecordAddress, Offset = offset };
                if (VersionKeys.IsKeyed(view.FirstVersion + i, view.FirstVersion, sparse))
                {
                    index.Upsert(IndexKey.ForVersion(stream.Number, view.FirstVersion + i), location);
                }

                if (record.MessageIdLength > 0)
                {
                    index.Upsert(IndexKey.ForMessageId(stream.Number, Encoding.UTF8.GetString(record.MessageId)), location);
                }

                offset += record.Size;
            }

            state.Apply(payload, scanner.RecordAddress, scanner.Address, stream);
            stream.PendingCount = stream.Count;
            lastEpoch = view.Epoch;
            maxEpoch = Math.Max(maxEpoch, lastEpoch);
            expectedPosition += view.EventCount;
            entries++;
            events += view.EventCount;
            lastGoodEnd = scanner.Address;

            if (progress.ElapsedMilliseconds >= 2000)
            {
                cancellationToken.ThrowIfCancellationRequested();
                logger.Information("Recovery: replayed {Entries} entries ({Events} events), at address {Address}", entries, events, lastGoodEnd);
                progress.Restart();
            }
        }

        state.Publish();
        long ignored = ZeroRestOfPage(files, layout, lastGoodEnd, logger);
        if (problem is not null || ignored > 0)
        {
            logger.Warning(
                "Recovery: log tail at address {Tail} is torn or corrupt ({Problem}); ignored everything from there on, zeroed {Bytes} non-zero bytes in [{Tail}, {PageEnd})",
                lastGoodEnd,
                problem ?? "non-zero bytes after the last valid record",
                ignored,
                lastGoodEnd,
                layout.NextPageStart(lastGoodEnd));
        }

        return new RecoveryReport
        {
            ReplayedFrom = from,
            Tail = lastGoodEnd,
            ReplayedEntries = entries,
            ReplayedEvents = events,
            FromSnapshot = snapshot is not null,
            IndexToken = snapshot?.IndexToken ?? Guid.Empty,
            TailProblem = problem ?? (ignored > 0 ? "non-zero bytes after the last valid record" : null),
            IgnoredBytes = ignored,
            MaxEpoch = maxEpoch,
            MaxCommitNumber = maxCommit,
        };
    }

    private static string? CheckEntry(ReadOnlySpan<byte> payload, CommittedState state, long expectedPosition, uint lastEpoch, uint currentEpoch)
    {
        if (LogEntryFormat.Validate(payload) is { } invalid)
        {
            return invalid;
        }

        var view = new EntryView(payload);
        if (view.Epoch < lastEpoch || view.Epoch >= currentEpoch)
        {
            return $"epoch {view.Epoch} out of order (previous {lastEpoch}, current {currentEpoch})";
        }

        if (view.FirstPosition != expectedPosition)
        {
            return $"position {view.FirstPosition} where {expectedPosition} was expected";
        }

        long streams = state.Streams.Count;
        if (view.StreamNumber < 0 || view.StreamNumber > streams)
        {
            return $"unknown stream number {view.StreamNumber}";
        }

        long streamCount = view.StreamNumber == streams ? 0 : state.Streams[view.StreamNumber].Count;
        return view.FirstVersion == streamCount ? null : $"version {view.FirstVersion} where {streamCount} was expected";
    }

    /// <summary>Zeroes any bytes between the tail and the end of its page, so that page reads as the log end and FASTER's padding stays zero.</summary>
    private static long ZeroRestOfPage(LogFileReader files, LogLayout layout, long tail, ILogger logger)
    {
        long pageEnd = layout.NextPageStart(tail);

        var rest = new byte[pageEnd - tail];
        files.Read(tail, rest);
        long nonZero = rest.Length - rest.AsSpan().Count((byte)0);
        if (nonZero == 0)
        {
            return 0;
        }

        string path = files.SegmentPath(layout.Segment(tail));
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.Position = layout.OffsetInSegment(tail);
            stream.Write(new byte[rest.Length]);
            stream.Flush(flushToDisk: true);
        }

        logger.Debug("Zeroed [{From}, {To}) in {Path}", tail, pageEnd, path);
        return nonZero;
    }
}
