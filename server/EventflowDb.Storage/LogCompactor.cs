using System.Diagnostics;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>What one compaction did.</summary>
/// <param name="BytesBefore">Bytes the data directory held on disk (allocated blocks) when it started.</param>
/// <param name="BytesAfter">Bytes it held when it ended.</param>
/// <param name="ScannedBytes">Log bytes the compaction walked.</param>
/// <param name="ScrubbedEvents">Forgotten events whose data and metadata it removed (0 when they were gone already).</param>
/// <param name="ScrubbedSnapshots">Snapshots of forgotten streams whose data it removed.</param>
/// <param name="ReclaimedEvents">Deleted, truncated and expired events (by maxCount or maxAge) whose data and metadata it removed.</param>
/// <param name="Duration">How long it took.</param>
public sealed record CompactionResult(long BytesBefore, long BytesAfter, long ScannedBytes, long ScrubbedEvents, long ScrubbedSnapshots, long ReclaimedEvents, TimeSpan Duration);

/// <summary>
/// Compaction, in place and address-stable (docs/architecture.md, "Compaction"): walks the sealed part of the log (every
/// page before the one the committed tail is in: FasterLog never writes those again) and rewrites, in place, each record
/// that still holds forgotten bytes: the events of a FORGET (<see cref="LogEntryFormat.Scrub"/>: the record keeps its
/// size, place, id, message id and type, and keeps the checksum chain value in place of its data) and the superseded
/// snapshots of forgotten streams. Rewrites go through <see cref="CompactionJournal"/> (crash-safe, redone at open) and
/// the reader's seqlock (<see cref="LogFileReader.BeginPatch"/>), so reads, appends and subscriptions go on meanwhile.
/// Positions, addresses and the index never change.
/// </summary>
internal sealed class LogCompactor
{
    /// <summary>Rewrites per journal batch: readers wait while one is written into the files, so it is kept small.</summary>
    private const int BatchBytes = 1 << 20;

    private readonly string _directory;
    private readonly string _logBase;
    private readonly LogLayout _layout;
    private readonly LogFileReader _files;
    private readonly CommittedState _state;
    private readonly ILogger _logger;
    private readonly long _nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    private long _reclaimedEvents;

    public LogCompactor(string directory, string logBase, LogLayout layout, LogFileReader files, CommittedState state, ILogger logger)
    {
        _directory = directory;
        _logBase = logBase;
        _layout = layout;
        _files = files;
        _state = state;
        _logger = logger;
    }

    /// <summary>Tests only: see <see cref="CompactionJournal.Apply"/>.</summary>
    public Action<IReadOnlyList<LogPatch>>? Fault { get; init; }

    public CompactionResult Run(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        _reclaimedEvents = 0;
        long before = DiskUsage.Allocated(_directory);
        long limit;
        lock (_state.ApplyLock)
        {
            limit = _layout.PageStart(_state.AppliedEnd);
        }

        _logger.Information("Compaction started: log up to address {Limit}", limit);
        var scanner = new LogRecordScanner(_files, _layout, 1 << 20);
        scanner.Address = LogLayout.FirstValidAddress;
        var patches = new List<LogPatch>();
        long patchBytes = 0;
        long scrubbedEvents = 0;
        long scrubbedSnapshots = 0;
        bool featureMarked = false;
        ulong hash = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!scanner.NextEntry(limit, "Compaction stopped"))
            {
                break;
            }

            var payload = scanner.Payload;
            long payloadAddress = scanner.RecordAddress + LogLayout.RecordHeaderSize;
            if (ControlRecordFormat.IsControl(payload) && new ControlView(payload).Kind == ControlKind.Padding && payload.Length - ControlRecordFormat.HeaderSize >= 8192)
            {
                PunchPadding(payloadAddress, payload.Length);
                continue;
            }

            byte[]? patched = ControlRecordFormat.IsControl(payload)
                ? ScrubSnapshot(payload, scanner.RecordAddress, ref scrubbedSnapshots)
                : ScrubEntry(payload, scanner.RecordAddress, ref hash, ref scrubbedEvents);
            if (patched is null)
            {
                continue;
            }

            if (!featureMarked)
            {
                // Before the first scrubbed record reaches the log: a build that cannot read one refuses the store.
                StoreMetaFile.AddFeatures(Path.Combine(_directory, StoreOpener.MetaFileName), StoreFeatures.ScrubbedEvents);

                // Before the segment files change: the next backup copies the sealed ones again.
                CompactionGeneration.Advance(_directory);
                featureMarked = true;
            }

            patches.Add(new LogPatch(payloadAddress, patched));
            patchBytes += patched.Length;
            if (patchBytes >= BatchBytes)
            {
                CompactionJournal.Apply(_directory, _logBase, _layout, _files, patches, Fault);
                patches.Clear();
                patchBytes = 0;
            }
        }

        if (patches.Count > 0)
        {
            CompactionJournal.Apply(_directory, _logBase, _layout, _files, patches, Fault);
        }

        long after = DiskUsage.Allocated(_directory);
        var result = new CompactionResult(before, after, Math.Max(0, limit - LogLayout.FirstValidAddress), scrubbedEvents, scrubbedSnapshots, _reclaimedEvents, watch.Elapsed);
        _logger.Information(
            "Compaction ended: {ScannedBytes} log bytes walked, {ScrubbedEvents} forgotten events and {ScrubbedSnapshots} snapshots scrubbed, {ReclaimedEvents} deleted/truncated/expired events emptied, {Reclaimed} bytes reclaimed ({Before} -> {After} on disk) in {Ms} ms",
            result.ScannedBytes, scrubbedEvents, scrubbedSnapshots, _reclaimedEvents, before - after, before, after, watch.ElapsedMilliseconds);
        return result;
    }

    /// <summary>
    /// A forgotten stream with bytes still to scrub in the page the committed tail is in (which a compaction leaves alone:
    /// FasterLog may write it again), or null. A padding record on it seals that page (<see cref="ControlKind.Padding"/>).
    /// </summary>
    public string? StreamToSeal()
    {
        long end;
        lock (_state.ApplyLock)
        {
            end = _state.AppliedEnd;
        }

        var scanner = new LogRecordScanner(_files, _layout, 1 << 20);
        scanner.Address = Math.Max(LogLayout.FirstValidAddress, _layout.PageStart(end));
        while (true)
        {
            var kind = scanner.Next(end);
            if (kind is RecordKind.End or RecordKind.Zero or RecordKind.Invalid)
            {
                return null;
            }

            if (kind != RecordKind.Entry)
            {
                continue;
            }

            var payload = scanner.Payload;
            long streamNumber = new EntryView(payload).StreamNumber;
            if (streamNumber < 0 || streamNumber >= _state.Streams.Count || _state.Streams[streamNumber].Lifecycle is not { ForgottenBelow: > 0 } lifecycle)
            {
                continue;
            }

            long count = 0;
            ulong chain = 0; // only whether something is left to scrub matters here, not the chain values
            bool holds = ControlRecordFormat.IsControl(payload)
                ? ScrubSnapshot(payload, scanner.RecordAddress, ref count) is not null
                : new EntryView(payload).FirstVersion < lifecycle.ForgottenBelow && ScrubEntry(payload, scanner.RecordAddress, ref chain, ref count) is not null;
            if (holds)
            {
                return _state.Streams[streamNumber].Name;
            }
        }
    }

    /// <summary>The entry with its forgotten events scrubbed, or null when it has none left; advances the checksum chain.</summary>
    private byte[]? ScrubEntry(ReadOnlySpan<byte> payload, long address, ref ulong hash, ref long scrubbed)
    {
        if (LogEntryFormat.Validate(payload) is { } problem)
        {
            throw new InvalidDataException($"Compaction stopped: {problem} in the entry at address {address}.");
        }

        var view = new EntryView(payload);
        var stream = view.StreamNumber < _state.Streams.Count ? _state.Streams[view.StreamNumber] : null;
        var lifecycle = stream?.Lifecycle;
        long count = stream?.Count ?? 0;
        byte[]? copy = null;
        int offset = view.FirstEventOffset;
        for (int i = 0; i < view.EventCount; i++)
        {
            var record = new EventRecord(payload, offset);
            ulong after = LogEntryFormat.Chain(record, hash);
            long version = view.FirstVersion + i;

            // Forgotten (FORGET), or hidden for good (DELETE, TRUNCATE) or by the stream's limits now (maxCount, maxAge).
            if (lifecycle is not null && !record.IsScrubbed
                && (version < lifecycle.ForgottenBelow || lifecycle.Hides(version, count, view.AddedAtMs, _nowMs)))
            {
                copy ??= payload.ToArray();
                LogEntryFormat.Scrub(copy, offset, after);
                if (version < lifecycle.ForgottenBelow)
                {
                    scrubbed++;
                }
                else
                {
                    _reclaimedEvents++;
                }
            }

            hash = after;
            offset += record.Size;
        }

        if (copy is not null)
        {
            LogEntryFormat.Seal(copy);
        }

        return copy;
    }

    /// <summary>Gives the zeros of a padding record (in a sealed page) back to the file system; idempotent.</summary>
    private void PunchPadding(long payloadAddress, int length)
    {
        using var file = new FileStream(LogFileReader.SegmentPath(_logBase, _layout.Segment(payloadAddress)), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1);
        long offset = _layout.OffsetInSegment(payloadAddress) + ControlRecordFormat.HeaderSize;
        LinuxFile.PunchZeros(file.SafeFileHandle, offset, length - ControlRecordFormat.HeaderSize);
    }

    /// <summary>A superseded snapshot of a forgotten stream with its data blanked, or null when there is nothing to blank.</summary>
    private byte[]? ScrubSnapshot(ReadOnlySpan<byte> payload, long address, ref long scrubbed)
    {
        if (ControlRecordFormat.Validate(payload) is { } problem)
        {
            throw new InvalidDataException($"Compaction stopped: {problem} in the control record at address {address}.");
        }

        var view = new ControlView(payload);
        if (view.Kind != ControlKind.Snapshot || view.StreamNumber >= _state.Streams.Count)
        {
            return null;
        }

        var lifecycle = _state.Streams[view.StreamNumber].Lifecycle;
        if (lifecycle is null || lifecycle.ForgottenBelow == 0 || lifecycle.SnapshotAddress == address || IsBlank(view.Data))
        {
            return null;
        }

        // Never read again (SNAPSHOT GET reads only the stream's current one): its data becomes the JSON value 0 and spaces.
        var copy = payload.ToArray();
        var data = copy.AsSpan(ControlRecordFormat.HeaderSize + view.NameLength);
        data.Fill((byte)' ');
        data[0] = (byte)'0';
        LogEntryFormat.Seal(copy);
        scrubbed++;
        return copy;
    }

    /// <summary>True for the data of a snapshot a compaction blanked (the JSON value 0 and spaces).</summary>
    internal static bool IsBlank(ReadOnlySpan<byte> data) => data.Length > 0 && data[0] == (byte)'0' && !data[1..].ContainsAnyExcept((byte)' ');
}

/// <summary>What a directory occupies on disk.</summary>
internal static class DiskUsage
{
    /// <summary>Bytes of the blocks allocated to every file under <paramref name="directory"/> (sparse files count what they hold).</summary>
    public static long Allocated(string directory)
    {
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            try
            {
                total += LinuxFile.AllocatedBytes(file.FullName) ?? file.Length;
            }
            catch (FileNotFoundException)
            {
            }
        }

        return total;
    }
}
