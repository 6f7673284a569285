using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>Where a replay stopped: the end of the last valid record, and the first record it refused there, if any.</summary>
internal sealed class ReplayOutcome
{
    public required long From { get; init; }

    /// <summary>End of the last valid record.</summary>
    public required long Tail { get; init; }

    /// <summary>Address of the refused record (at or after <see cref="Tail"/>), or -1 when the log ended in zeros.</summary>
    public required long ProblemAddress { get; init; }

    /// <summary>Why the record at <see cref="ProblemAddress"/> was refused.</summary>
    public required string? Problem { get; init; }

    public required long Entries { get; init; }

    public required long Events { get; init; }

    /// <summary>Epoch of the last valid entry (or the snapshot's, when none was replayed): older entries after the tail are leftovers.</summary>
    public required uint LastEpoch { get; init; }

    public required uint MaxEpoch { get; init; }

    /// <summary>Highest FasterLog commit number seen: commit records after the tail with a lower one are leftovers.</summary>
    public required long MaxCommitNumber { get; init; }
}

/// <summary>
/// Replays the log from the committed state's applied end into the state and the event index. A record is
/// accepted only if it is structurally sound, passes the entry checksum, continues the position sequence and the
/// id order, fits the stream table, and was written by an epoch no older than the entry (or snapshot) before it
/// and older than this run. The replay stops at the first record that fails, or at zeros where no record
/// starts; whether what follows is a torn tail or damage is decided by <see cref="LogDamageCheck"/>.
/// </summary>
internal static class LogReplay
{
    public static void LoadSnapshot(StoreSnapshot snapshot, CommittedState state)
    {
        for (long i = 0; i < snapshot.StreamNames.LongLength; i++)
        {
            var stream = state.Streams.Add(snapshot.StreamNames[i], snapshot.StreamCreated[i]);
            stream.SetCommitted(snapshot.StreamCounts[i], snapshot.StreamUpdated[i]);
            stream.PendingCount = snapshot.StreamCounts[i];
            stream.Lifecycle = snapshot.Lifecycles?[i];
        }

        foreach (var (id, address) in snapshot.SparsePoints)
        {
            state.Sparse.Add(id, address);
        }

        state.Restore(snapshot.CoveredAddress, snapshot.EventCount, snapshot.StreamNames.LongLength, snapshot.EntryCount, snapshot.LastId, snapshot.Hash);
        state.RecountAll();
    }

    /// <param name="firstEpoch">The lowest epoch the first replayed entry may carry (the snapshot's).</param>
    /// <param name="currentEpoch">This run's epoch: every entry on disk is older.</param>
    public static ReplayOutcome Replay(LogFileReader files, LogLayout layout, CommittedState state, EventIndex index, uint firstEpoch, uint currentEpoch, ILogger logger, CancellationToken cancellationToken)
    {
        long from = state.AppliedEnd;
        var scanner = new LogRecordScanner(files, layout, 1 << 20) { Address = from };
        long tail = from;
        long expectedPosition = state.EventCount;
        var lastId = state.LastId;
        uint lastEpoch = firstEpoch;
        uint maxEpoch = firstEpoch;
        long maxCommit = 0;
        long entries = 0;
        long events = 0;
        long problemAddress = -1;
        string? problem = null;
        var progress = Stopwatch.StartNew();

        while (true)
        {
            var kind = scanner.Next(long.MaxValue);
            if (kind == RecordKind.Zero)
            {
                // Padding at the end of a page, or the end of the log when no record starts on the next page.
                if (layout.OffsetInPage(scanner.RecordAddress) == 0)
                {
                    break;
                }

                scanner.SkipToNextPage();
                continue;
            }

            if (kind == RecordKind.Invalid)
            {
                (problemAddress, problem) = (scanner.RecordAddress, scanner.Problem);
                break;
            }

            var payload = scanner.Payload;
            if (kind == RecordKind.CommitRecord)
            {
                if (CommitRecord.Number(payload, scanner.Address) is not { } number)
                {
                    (problemAddress, problem) = (scanner.RecordAddress, "invalid commit record");
                    break;
                }

                maxCommit = Math.Max(maxCommit, number);
                tail = scanner.Address;
                continue;
            }

            if (ControlRecordFormat.IsControl(payload))
            {
                problem = CheckControl(payload, state.Streams.Count, expectedPosition, lastEpoch, currentEpoch);
                if (problem is not null)
                {
                    problemAddress = scanner.RecordAddress;
                    break;
                }

                var control = new ControlView(payload);
                state.ApplyControl(control.Change, scanner.RecordAddress, scanner.Address, state.Streams[control.StreamNumber]);
                lastEpoch = control.Epoch;
                maxEpoch = Math.Max(maxEpoch, lastEpoch);
                entries++;
                tail = scanner.Address;
                continue;
            }

            problem = CheckEntry(payload, new StreamTableCounts(state.Streams), expectedPosition, lastId, lastEpoch, currentEpoch);
            if (problem is not null)
            {
                problemAddress = scanner.RecordAddress;
                break;
            }

            var view = new EntryView(payload);
            var stream = view.StreamNumber == state.Streams.Count
                ? state.Streams.Add(Encoding.UTF8.GetString(view.StreamName), view.AddedAtMs)
                : state.Streams[view.StreamNumber];
            IndexEntry(index, layout, payload, scanner.RecordAddress, stream.Number);
            state.Apply(payload, scanner.RecordAddress, scanner.Address, stream);
            stream.PendingCount = stream.Count;
            lastId = state.LastId;
            lastEpoch = view.Epoch;
            maxEpoch = Math.Max(maxEpoch, lastEpoch);
            expectedPosition += view.EventCount;
            entries++;
            events += view.EventCount;
            tail = scanner.Address;

            if (progress.ElapsedMilliseconds >= 2000)
            {
                cancellationToken.ThrowIfCancellationRequested();
                logger.Information("Recovery: replayed {Entries} entries ({Events} events), at address {Address}", entries, events, tail);
                progress.Restart();
            }
        }

        state.Publish();
        return new ReplayOutcome
        {
            From = from,
            Tail = tail,
            ProblemAddress = problemAddress,
            Problem = problem,
            Entries = entries,
            Events = events,
            LastEpoch = lastEpoch,
            MaxEpoch = maxEpoch,
            MaxCommitNumber = maxCommit,
        };
    }

    /// <summary>Upserts the entry's version keys (sparse as the writer keys them) and message-id keys.</summary>
    private static void IndexEntry(EventIndex index, LogLayout layout, ReadOnlySpan<byte> payload, long address, long streamNumber)
    {
        var view = new EntryView(payload);
        int offset = view.FirstEventOffset;
        bool sparse = VersionKeys.IsSparse(payload.Length, layout);
        for (int i = 0; i < view.EventCount; i++)
        {
            var record = new EventRecord(payload, offset);
            var location = new IndexValue { Address = address, Offset = offset };
            if (VersionKeys.IsKeyed(view.FirstVersion + i, view.FirstVersion, sparse))
            {
                index.Upsert(IndexKey.ForVersion(streamNumber, view.FirstVersion + i), location);
            }

            if (record.MessageIdLength > 0)
            {
                index.Upsert(IndexKey.ForMessageId(streamNumber, Encoding.UTF8.GetString(record.MessageId)), location);
            }

            offset += record.Size;
        }
    }

    /// <summary>
    /// Recovery's checks of one control record (also run by <see cref="OfflineLog"/> and the check of the covered log):
    /// format, epoch order, the position the next event gets, a stream that exists. Null when good, else what is wrong.
    /// </summary>
    internal static string? CheckControl(ReadOnlySpan<byte> payload, long streamCount, long expectedPosition, uint lastEpoch, uint currentEpoch)
    {
        if (ControlRecordFormat.Validate(payload) is { } invalid)
        {
            return invalid;
        }

        var view = new ControlView(payload);
        if (view.Epoch < lastEpoch || view.Epoch >= currentEpoch)
        {
            return $"epoch {view.Epoch} out of order (previous {lastEpoch}, current {currentEpoch})";
        }

        if (view.Position != expectedPosition)
        {
            return $"control record at position {view.Position} where {expectedPosition} was expected";
        }

        return view.StreamNumber < 0 || view.StreamNumber >= streamCount ? $"control record of unknown stream number {view.StreamNumber}" : null;
    }

    /// <summary>
    /// Recovery's checks of one entry, also run by the offline scan (<see cref="OfflineLog"/>): format, epoch order,
    /// position, stream number and version, increasing ids. Null when the entry is good, else what is wrong.
    /// </summary>
    internal static string? CheckEntry<TStreams>(ReadOnlySpan<byte> payload, TStreams streamCounts, long expectedPosition, UInt128 lastId, uint lastEpoch, uint currentEpoch)
        where TStreams : IStreamEventCounts
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

        long streams = streamCounts.StreamCount;
        if (view.StreamNumber < 0 || view.StreamNumber > streams)
        {
            return $"unknown stream number {view.StreamNumber}";
        }

        long streamCount = view.StreamNumber == streams ? 0 : streamCounts.EventsIn(view.StreamNumber);
        if (view.FirstVersion != streamCount)
        {
            return $"version {view.FirstVersion} where {streamCount} was expected";
        }

        int offset = view.FirstEventOffset;
        var previous = lastId;
        for (int i = 0; i < view.EventCount; i++)
        {
            var record = new EventRecord(payload, offset);
            if (record.Id <= previous)
            {
                return $"event id {UlidCodec.ToUlid(record.Id)} not above the previous id {UlidCodec.ToUlid(previous)}";
            }

            previous = record.Id;
            offset += record.Size;
        }

        return null;
    }
}

/// <summary>How many events each stream held so far, as <see cref="LogReplay.CheckEntry"/> reads it (a struct, so the generic check costs no call through an interface).</summary>
internal interface IStreamEventCounts
{
    long StreamCount { get; }

    long EventsIn(long streamNumber);
}

/// <summary>The counts of the committed state's stream table (recovery).</summary>
internal readonly struct StreamTableCounts(StreamTable streams) : IStreamEventCounts
{
    public long StreamCount => streams.Count;

    public long EventsIn(long streamNumber) => streams[streamNumber].Count;
}

/// <summary>FasterLog's commit record (FastCommitMode), as far as recovery reads it.</summary>
internal static class CommitRecord
{
    /// <summary>
    /// The commit number of a commit record whose payload is <paramref name="payload"/> and which ends at
    /// <paramref name="end"/>, or null when it is not a well-formed one: version 1, checksum, begin, until (= its own
    /// end address), commit number, ...
    /// </summary>
    public static long? Number(ReadOnlySpan<byte> payload, long end)
        => payload.Length >= 36 && BinaryPrimitives.ReadInt32LittleEndian(payload) == 1 && BinaryPrimitives.ReadInt64LittleEndian(payload[20..]) == end
            ? BinaryPrimitives.ReadInt64LittleEndian(payload[28..])
            : null;
}
