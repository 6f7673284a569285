using System.Globalization;
using System.IO.Hashing;
using NUlid;

namespace EventflowDb.Storage;

/// <summary>One event met by <see cref="OfflineLog.Scan"/>; its spans are valid only during the callback.</summary>
public readonly ref struct OfflineEvent
{
    private readonly UInt128 _id;

    internal OfflineEvent(ReadOnlySpan<byte> json, ReadOnlySpan<byte> stream, ReadOnlySpan<byte> messageId, UInt128 id, long position)
    {
        Json = json;
        Stream = stream;
        MessageId = messageId;
        _id = id;
        Position = position;
    }

    /// <summary>
    /// The event's JSON, byte for byte as GETALL returns it: as stored, or its forgotten rendering (FORGET: <c>"data":null,
    /// "metadata":null</c> and <c>"forgotten":true</c>, <see cref="ForgottenEvent"/>) unless <see cref="OfflineScanOptions.IncludeHidden"/>.
    /// </summary>
    public ReadOnlySpan<byte> Json { get; }

    /// <summary>The stream name (UTF-8).</summary>
    public ReadOnlySpan<byte> Stream { get; }

    /// <summary>The message id (UTF-8), empty when the event has none.</summary>
    public ReadOnlySpan<byte> MessageId { get; }

    /// <summary>The 0-based global position.</summary>
    public long Position { get; }

    /// <summary>The event id.</summary>
    public Ulid Id => UlidCodec.ToUlid(_id);
}

/// <summary>Receives the events of an offline scan in log order.</summary>
public delegate void OfflineEventHandler(OfflineEvent e);

/// <summary>A bad record found offline: the segment file and byte offset where it starts, its log address, and why.</summary>
public sealed record OfflineLogProblem(string File, long Offset, long Address, string Reason);

/// <summary>What <see cref="OfflineLog.Scan"/> found.</summary>
public sealed class OfflineScanResult
{
    /// <summary>Valid events before the first bad record (all of them when there is none).</summary>
    public long Events { get; internal set; }

    /// <summary>Streams holding those events.</summary>
    public long Streams { get; internal set; }

    /// <summary>
    /// Events after <see cref="OfflineScanOptions.After"/> not handed to the event handler because reads hide them
    /// (DELETE, TRUNCATE, maxCount, and maxAge as of the scan); 0 without a handler or with <see cref="OfflineScanOptions.IncludeHidden"/>.
    /// </summary>
    public long HiddenEvents { get; internal set; }

    /// <summary>Events handed to the event handler in their forgotten rendering (FORGET).</summary>
    public long ForgottenEvents { get; internal set; }

    /// <summary>Log entries (one per ADD) scanned.</summary>
    public long Entries { get; internal set; }

    /// <summary>The id of the last valid event (<see cref="Ulid.Empty"/> when none).</summary>
    public Ulid LastId { get; internal set; } = Ulid.Empty;

    /// <summary>The chained checksum over the valid events, as the server's CHECKSUM computes it.</summary>
    public ulong Checksum { get; internal set; }

    /// <summary><see cref="Checksum"/> as CHECKSUM prints it: 16 lowercase hex digits.</summary>
    public string ChecksumHex => Checksum.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>Log address just past the last valid record.</summary>
    public long LogEnd { get; internal set; }

    /// <summary>Segment files of the log.</summary>
    public int SegmentFiles { get; internal set; }

    /// <summary>True when a checkpoint (snapshot.bin) was found and the log matched what it counted.</summary>
    public bool SnapshotChecked { get; internal set; }

    /// <summary>Damage: a server refuses to start on this directory (without --repair). Null when there is none.</summary>
    public OfflineLogProblem? Damage { get; internal set; }

    /// <summary>
    /// A torn tail: a bad or partial record with nothing valid after it, above the last checkpoint (an interrupted write,
    /// never acknowledged); a server cuts it at start. Null when there is none.
    /// </summary>
    public OfflineLogProblem? TornTail { get; internal set; }

    /// <summary>Remarks that are no damage (an unusable snapshot, which only costs a replay).</summary>
    public IList<string> Notes { get; } = [];
}

/// <summary>
/// Reads a data directory that no server has open, without writing anything: every record of the event log is checked
/// (FasterLog framing, entry checksum, positions, versions, id order, epochs) as a server's recovery checks it, the
/// checksum chain is computed as CHECKSUM computes it, and the events can be handed out in log order. Damage and torn
/// tails are told apart as recovery tells them (<see cref="LogDamageCheck"/>).
/// </summary>
public static class OfflineLog
{
    private const int ProgressStep = 4 << 20;

    /// <summary>Scans the log of <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">A data directory (or a backup directory).</param>
    /// <param name="onEvent">
    /// Called for each valid event whose id is greater than <see cref="OfflineScanOptions.After"/>, in log order, as a
    /// server's GETALL returns it: the lifecycle (control records) is applied as the server applies it, so events hidden by
    /// DELETE, TRUNCATE, maxCount and maxAge (as of now) are passed over and forgotten ones come in their forgotten
    /// rendering (this takes a first pass over the log to learn each stream's final lifecycle state); null: none.
    /// </param>
    /// <param name="options">Where to start handing out events, progress, the log's page size; null: defaults.</param>
    /// <param name="cancellationToken">Stops the scan.</param>
    /// <returns>What was found.</returns>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="IOException">It is not a data directory, or a file cannot be read.</exception>
    public static OfflineScanResult Scan(string dataDirectory, OfflineEventHandler? onEvent = null, OfflineScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        options ??= new OfflineScanOptions();
        var progress = options.Progress;
        string directory = Path.GetFullPath(dataDirectory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory} does not exist");
        }

        string logDirectory = Path.Combine(directory, "log");
        string metaPath = Path.Combine(directory, StoreOpener.MetaFileName);
        if (!Directory.Exists(logDirectory) && !File.Exists(metaPath))
        {
            throw new IOException($"{directory} is not an EventflowDB data directory (it has no log/ and no {StoreOpener.MetaFileName})");
        }

        var result = new OfflineScanResult();
        var meta = StoreMetaFile.TryRead(metaPath);
        if (meta is null && File.Exists(metaPath))
        {
            result.Damage = new OfflineLogProblem(metaPath, 0, 0, "store.meta is damaged (its checksum does not match)");
            return result;
        }

        var defaults = new StoreOptions { DataDirectory = directory };
        string logBase = Path.Combine(logDirectory, StoreOpener.LogFileName);
        int segmentBits = meta?.SegmentSizeBits ?? StoreOpener.InferSegmentBits(logBase, defaults.LogSegmentSizeBits);
        var layout = new LogLayout(options.LogPageSizeBits ?? defaults.LogPageSizeBits, segmentBits);
        // A compaction a crash interrupted: its journal is read as the next open applies it (no file changes).
        using var files = new LogFileReader(logBase, layout) { Overlay = CompactionJournal.TryLoad(directory) };
        IReadOnlyList<int> segments = Directory.Exists(logDirectory) ? files.ExistingSegments() : [];
        result.SegmentFiles = segments.Count;

        var snapshot = LoadSnapshot(Path.Combine(directory, StoreOpener.SnapshotFileName), result);
        long covered = snapshot?.CoveredAddress ?? LogLayout.FirstValidAddress;
        if (LogDamageCheck.FindMissingSegment(segments, layout, covered) is { } missing)
        {
            result.Damage = Problem(files, layout, missing.Address, missing.Reason);
            return result;
        }

        long total = segments.Count == 0 ? 0 : ((long)segments[^1] + 1) << segmentBits;
        uint currentEpoch = meta is { } m ? m.Epoch + 1 : uint.MaxValue;
        var after = UlidCodec.FromUlid(options.After);
        Visibility? visibility = null;
        if (onEvent is not null && !options.IncludeHidden)
        {
            // First pass: each stream's lifecycle and count where the log ends (what a server started on it would hold);
            // hiding depends on them (maxCount counts from the end, FORGET covers versions below the count it took).
            var outer = progress;
            var first = new Walk(layout, snapshot, currentEpoch, null, after, null);
            first.Run(files, total, outer is null ? null : (done, all) => outer(done / 2, all), cancellationToken);
            visibility = first.HasLifecycle ? new Visibility([.. first.Lifecycles], [.. first.StreamCounts], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) : null;
            progress = outer is null ? null : (done, all) => outer((all / 2) + (done / 2), all);
        }

        var walk = new Walk(layout, snapshot, currentEpoch, onEvent, after, visibility);
        walk.Run(files, total, progress, cancellationToken);

        result.Events = walk.Position;
        result.Streams = walk.StreamCounts.Count;
        result.Entries = walk.Entries;
        result.HiddenEvents = walk.HiddenEvents;
        result.ForgottenEvents = walk.ForgottenEvents;
        result.LastId = UlidCodec.ToUlid(walk.LastId);
        result.Checksum = walk.Hash;
        result.LogEnd = walk.Tail;
        result.SnapshotChecked = snapshot is not null && walk.SnapshotMatched;
        Judge(files, layout, segments, covered, walk, result);
        progress?.Invoke(total, total);
        return result;
    }

    /// <summary>Reads <c>backup.json</c> of a backup directory: null when there is none (no complete backup) or it cannot be read.</summary>
    /// <param name="directory">The backup directory.</param>
    /// <returns>The events, last id and checksum the backup recorded.</returns>
    public static BackupSummary? TryReadBackupManifest(string directory)
    {
        var manifest = BackupManifest.TryRead(directory);
        return manifest is null ? null : new BackupSummary(manifest.Source, manifest.Events, manifest.LastId, manifest.Checksum, manifest.CreatedAt);
    }

    /// <summary>The name of the backup manifest file, which is no part of a data directory.</summary>
    public static string BackupManifestFileName => BackupManifest.FileName;

    /// <summary>Decides, from where the walk stopped, between damage, a torn tail and a clean end (as recovery decides).</summary>
    private static void Judge(LogFileReader files, LogLayout layout, IReadOnlyList<int> segments, long covered, Walk walk, OfflineScanResult result)
    {
        if (walk.Damage is { } early)
        {
            result.Damage = Problem(files, layout, early.Address, early.Reason);
            return;
        }

        var outcome = new ReplayOutcome
        {
            From = LogLayout.FirstValidAddress,
            Tail = walk.Tail,
            ProblemAddress = walk.ProblemAddress,
            Problem = walk.Problem,
            Entries = walk.Entries,
            Events = walk.Position,
            LastEpoch = walk.LastEpoch,
            MaxEpoch = walk.MaxEpoch,
            MaxCommitNumber = walk.MaxCommit,
        };
        int lastSegment = segments.Count == 0 ? 0 : segments[^1];
        if (LogDamageCheck.FindValidRecordAfter(files, layout, outcome, lastSegment) is { } damage)
        {
            result.Damage = Problem(files, layout, damage.Address, damage.Reason);
        }
        else if (walk.Tail < covered)
        {
            long at = walk.ProblemAddress >= 0 ? walk.ProblemAddress : walk.Tail;
            result.Damage = Problem(files, layout, at, (walk.Problem ?? "the log ends") + $" below the address {covered} a checkpoint covered");
        }
        else if (walk.Problem is { } problem)
        {
            result.TornTail = Problem(files, layout, walk.ProblemAddress, problem);
        }
        else if (LogRepair.CountNonZero(files, walk.Tail, layout.NextPageStart(walk.Tail)) is > 0 and var bytes)
        {
            result.TornTail = Problem(files, layout, walk.Tail, $"{bytes} non-zero bytes after the last valid record");
        }
    }

    private static StoreSnapshot? LoadSnapshot(string path, OfflineScanResult result)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return StoreSnapshot.Load(path);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            result.Notes.Add($"{path} is unusable ({e.Message}); a server replays the whole log instead");
            return null;
        }
    }

    private static OfflineLogProblem Problem(LogFileReader files, LogLayout layout, long address, string reason)
        => new(files.SegmentPath(layout.Segment(address)), layout.OffsetInSegment(address), address, reason);

    /// <summary>What reads hide and rewrite: each stream's final lifecycle state and count (from a first pass), and the time of the scan.</summary>
    private sealed record Visibility(StreamLifecycle?[] Lifecycles, long[] Counts, long NowMs);

    /// <summary>The walk over the log from its first record, with recovery's checks.</summary>
    private sealed class Walk(LogLayout layout, StoreSnapshot? snapshot, uint currentEpoch, OfflineEventHandler? onEvent, UInt128 after, Visibility? visibility)
    {
        private byte[] _rendering = [];

        public List<long> StreamCounts { get; } = [];

        /// <summary>Each stream's lifecycle state built from its control records so far (as recovery builds it).</summary>
        public List<StreamLifecycle?> Lifecycles { get; } = [];

        /// <summary>True once a control record was applied.</summary>
        public bool HasLifecycle { get; private set; }

        public long HiddenEvents { get; private set; }

        public long ForgottenEvents { get; private set; }

        public long Tail { get; private set; } = LogLayout.FirstValidAddress;

        public long Position { get; private set; }

        public long Entries { get; private set; }

        public UInt128 LastId { get; private set; }

        public ulong Hash { get; private set; }

        public uint LastEpoch { get; private set; }

        public uint MaxEpoch { get; private set; }

        public long MaxCommit { get; private set; }

        public long ProblemAddress { get; private set; } = -1;

        public string? Problem { get; private set; }

        public bool SnapshotMatched { get; private set; }

        /// <summary>Damage found during the walk itself (the log does not match the checkpoint).</summary>
        public LogDamage? Damage { get; private set; }

        public void Run(LogFileReader files, long total, Action<long, long>? progress, CancellationToken cancellationToken)
        {
            var scanner = new LogRecordScanner(files, layout, 1 << 20) { Address = LogLayout.FirstValidAddress };
            long reported = 0;
            while (true)
            {
                if (scanner.Address - reported >= ProgressStep)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    reported = scanner.Address;
                    progress?.Invoke(Math.Min(reported, total), total);
                }

                var kind = scanner.Next(long.MaxValue);
                if (kind == RecordKind.Zero)
                {
                    if (layout.OffsetInPage(scanner.RecordAddress) == 0)
                    {
                        return;
                    }

                    scanner.SkipToNextPage();
                    continue;
                }

                if (kind == RecordKind.Invalid)
                {
                    (ProblemAddress, Problem) = (scanner.RecordAddress, scanner.Problem);
                    return;
                }

                if (kind == RecordKind.CommitRecord)
                {
                    if (CommitRecord.Number(scanner.Payload, scanner.Address) is not { } number)
                    {
                        (ProblemAddress, Problem) = (scanner.RecordAddress, "invalid commit record");
                        return;
                    }

                    MaxCommit = Math.Max(MaxCommit, number);
                    Tail = scanner.Address;
                    continue;
                }

                if (ControlRecordFormat.IsControl(scanner.Payload))
                {
                    // A lifecycle change: checked as recovery checks it; it holds no event and leaves the checksum chain alone.
                    if (LogReplay.CheckControl(scanner.Payload, StreamCounts.Count, Position, LastEpoch, currentEpoch) is { } controlProblem)
                    {
                        (ProblemAddress, Problem) = (scanner.RecordAddress, controlProblem);
                        return;
                    }

                    var control = new ControlView(scanner.Payload);
                    uint epoch = control.Epoch;
                    Lifecycles[(int)control.StreamNumber] = StreamLifecycle.Apply(Lifecycles[(int)control.StreamNumber], control.Change, scanner.RecordAddress);
                    HasLifecycle = true;
                    LastEpoch = epoch;
                    MaxEpoch = Math.Max(MaxEpoch, epoch);
                    Tail = scanner.Address;
                    if (!CheckSnapshot(scanner.RecordAddress))
                    {
                        return;
                    }

                    continue;
                }

                if (CheckEntry(scanner.Payload) is { } problem)
                {
                    (ProblemAddress, Problem) = (scanner.RecordAddress, problem);
                    return;
                }

                Apply(scanner.Payload);
                Tail = scanner.Address;
                if (!CheckSnapshot(scanner.RecordAddress))
                {
                    return;
                }
            }
        }

        private void Apply(ReadOnlySpan<byte> payload)
        {
            var view = new EntryView(payload);
            if (view.StreamNumber == StreamCounts.Count)
            {
                StreamCounts.Add(0);
                Lifecycles.Add(null);
            }

            StreamCounts[(int)view.StreamNumber] += view.EventCount;
            int offset = view.FirstEventOffset;
            ulong hash = Hash;
            for (int i = 0; i < view.EventCount; i++)
            {
                var record = new EventRecord(payload, offset);
                hash = LogEntryFormat.Chain(record, hash);
                if (onEvent is not null && record.Id > after)
                {
                    Hand(view, record, i);
                }

                LastId = record.Id;
                offset += record.Size;
            }

            Hash = hash;
            Position += view.EventCount;
            Entries++;
            LastEpoch = view.Epoch;
            MaxEpoch = Math.Max(MaxEpoch, view.Epoch);
        }

        /// <summary>Hands one event to the handler as GETALL returns it: passed over when hidden, rendered when forgotten.</summary>
        private void Hand(in EntryView view, in EventRecord record, int index)
        {
            var json = record.Json;
            long streamNumber = view.StreamNumber;
            bool forgotten = record.IsScrubbed; // scrubbed by a compaction: only its forgotten rendering exists, hidden or not
            if (visibility is not null && streamNumber < visibility.Lifecycles.Length && visibility.Lifecycles[streamNumber] is { } lifecycle)
            {
                long version = view.FirstVersion + index;
                if (lifecycle.Hides(version, visibility.Counts[streamNumber], view.AddedAtMs, visibility.NowMs))
                {
                    HiddenEvents++;
                    return;
                }

                forgotten |= version < lifecycle.ForgottenBelow;
            }

            if (forgotten)
            {
                if (_rendering.Length < json.Length + ForgottenEvent.ExtraBytes)
                {
                    _rendering = new byte[Math.Max(json.Length + ForgottenEvent.ExtraBytes, 2 * _rendering.Length)];
                }

                json = _rendering.AsSpan(0, ForgottenEvent.Render(json, _rendering));
                ForgottenEvents++;
            }

            onEvent!(new OfflineEvent(json, view.StreamName, record.MessageId, record.Id, Position + index));
        }

        /// <summary>At the address the checkpoint covers, the log must hold what the checkpoint counted; false on damage.</summary>
        private bool CheckSnapshot(long recordAddress)
        {
            if (snapshot is null || SnapshotMatched || Tail < snapshot.CoveredAddress)
            {
                return true;
            }

            if (Tail == snapshot.CoveredAddress && Position == snapshot.EventCount && LastId == snapshot.LastId && Hash == snapshot.Hash)
            {
                SnapshotMatched = true;
                LastEpoch = Math.Max(LastEpoch, snapshot.Epoch);
                return true;
            }

            Damage = new LogDamage(recordAddress, $"the log a checkpoint covers does not end with what it counted (position {snapshot.EventCount - 1}, checksum {snapshot.Hash:x16}) at address {snapshot.CoveredAddress}");
            return false;
        }

        /// <summary>Recovery's checks of one entry (<see cref="LogReplay.CheckEntry"/>).</summary>
        private string? CheckEntry(ReadOnlySpan<byte> payload) =>
            LogReplay.CheckEntry(payload, new ListCounts(StreamCounts), Position, LastId, LastEpoch, currentEpoch);

        private readonly struct ListCounts(List<long> counts) : IStreamEventCounts
        {
            public long StreamCount => counts.Count;

            public long EventsIn(long streamNumber) => counts[(int)streamNumber];
        }
    }
}

/// <summary>Options of <see cref="OfflineLog.Scan"/>.</summary>
public sealed record OfflineScanOptions
{
    /// <summary>Events up to this id are checked but not handed to the event handler (<see cref="Ulid.Empty"/>: all are).</summary>
    public Ulid After { get; init; } = Ulid.Empty;

    /// <summary>
    /// True: hand out every stored event as stored, hidden (DELETE, TRUNCATE, maxCount, maxAge) and forgotten ones
    /// included, in one pass. False (the default): as a server's GETALL returns them.
    /// </summary>
    public bool IncludeHidden { get; init; }

    /// <summary>Called now and then with the log bytes scanned and the size of the segment files; null: none.</summary>
    public Action<long, long>? Progress { get; init; }

    /// <summary>The log page size as a power of two; null: the default of <see cref="StoreOptions.LogPageSizeBits"/> (the server's, which has no flag for it).</summary>
    public int? LogPageSizeBits { get; init; }
}

/// <summary>What a backup's <c>backup.json</c> recorded.</summary>
/// <param name="Source">The data directory it was copied from.</param>
/// <param name="Events">Events in the backup.</param>
/// <param name="LastId">The last event's id.</param>
/// <param name="Checksum">The CHECKSUM of the store at that event.</param>
/// <param name="CreatedAt">When the backup was written.</param>
public sealed record BackupSummary(string Source, long Events, string LastId, ulong Checksum, DateTimeOffset CreatedAt);
