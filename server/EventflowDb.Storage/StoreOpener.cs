using System.Diagnostics;
using FASTER.core;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>What <see cref="StoreOpener"/> hands to the store it opened.</summary>
internal sealed class OpenedStore
{
    public required StoreOptions Options { get; init; }

    public required string Directory { get; init; }

    public required LogLayout Layout { get; init; }

    public required LogFileReader Files { get; init; }

    public required FasterLog Log { get; init; }

    public required IDevice LogDevice { get; init; }

    public required DeviceLogCommitCheckpointManager CommitManager { get; init; }

    public required EventIndex Index { get; init; }

    public required CommittedState State { get; init; }

    public required uint Epoch { get; init; }

    /// <summary>Index keys at or above this address may point at entries the log lost (<see cref="StoreMeta.StaleKeysFrom"/>).</summary>
    public required long StaleKeysFrom { get; init; }

    public required SegmentPrefiller Prefiller { get; init; }

    public required RecoveryReport Recovery { get; init; }

    /// <summary>Where the devices report failed writes; it holds the store's read-only reason.</summary>
    public required DeviceMonitor Monitor { get; init; }
}

/// <summary>
/// Opens a store directory and recovers it, with one policy (docs/architecture.md, "Recovery"):
/// 1. segment files must run without gaps, and a snapshot must match the end of the log it covers;
/// 2. the index checkpoint named by the snapshot is recovered (or the index rebuilt), the log after the snapshot is
///    replayed (<see cref="LogReplay"/>) up to the first record that fails a check;
/// 3. what lies after that point decides (<see cref="LogDamageCheck"/>): nothing valid — a torn tail, cut and
///    logged; anything valid — damage: the open fails with <see cref="StoreDamagedException"/>, unless
///    <see cref="StoreOptions.Repair"/>, which copies the damaged files aside (<see cref="LogRepair"/>) and recovers again;
/// 4. a new epoch and the stale-key floor are made durable in store.meta before anything is written;
/// 5. FasterLog is positioned exactly at the recovered tail.
/// FasterLog's own recovery is not used: it swallows errors and trusts the last commit record it finds.
/// </summary>
internal static class StoreOpener
{
    public const string SnapshotFileName = "snapshot.bin";
    public const string MetaFileName = "store.meta";
    public const string LogFileName = "events.log";

    public static async Task<OpenedStore> OpenAsync(StoreOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ValidateOptions(options);
        var watch = Stopwatch.StartNew();
        string directory = Path.GetFullPath(options.DataDirectory);
        string logDirectory = Path.Combine(directory, "log");
        string indexDirectory = Path.Combine(directory, "index");
        string snapshotPath = Path.Combine(directory, SnapshotFileName);
        Directory.CreateDirectory(logDirectory);
        DeleteLeftovers(directory, logDirectory);
        logger.Information("Opening event store in {Directory}", directory);
        var monitor = new DeviceMonitor(logger);

        string logBase = Path.Combine(logDirectory, LogFileName);
        string metaPath = Path.Combine(directory, MetaFileName);
        var meta = StoreMetaFile.TryRead(metaPath);
        if (meta is { } known && (known.Features & ~StoreFeatures.Known) != 0)
        {
            string reason = $"store.meta names format features this build does not know (0x{(ulong)known.Features:x}): the store was written by a newer EventflowDB";
            logger.Error("Refusing to start on {File}: {Reason}", metaPath, reason);
            throw new StoreDamagedException(metaPath, 0, 0, reason);
        }

        if (meta is null && File.Exists(metaPath))
        {
            // It holds the segment size that maps addresses to files and the epoch that tells leftovers apart:
            // guessing them is --repair's call, not a normal start's.
            const string reason = "store.meta is damaged (its checksum does not match)";
            if (!options.Repair)
            {
                logger.Error("The store is damaged: {Reason} in {File} at offset 0. Refusing to start; --repair rebuilds it from the log", reason, metaPath);
                throw new StoreDamagedException(metaPath, 0, 0, reason);
            }

            logger.Error("Repair: {File} is damaged; inferring the segment size from the segment files and accepting log entries of any epoch", metaPath);
        }
        else if (meta is null && File.Exists(LogFileReader.SegmentPath(logBase, 0)))
        {
            logger.Warning("{File} is missing or damaged; accepting log entries of any epoch", MetaFileName);
        }

        // The segment size is the store's, fixed at creation: addresses map to files through it.
        int segmentBits = meta?.SegmentSizeBits ?? InferSegmentBits(logBase, options.LogSegmentSizeBits);
        if (segmentBits != options.LogSegmentSizeBits)
        {
            logger.Information("Log segments of this store are {Size} MiB, as when it was created", (1L << segmentBits) >> 20);
        }

        var layout = new LogLayout(options.LogPageSizeBits, segmentBits);

        // A compaction a crash interrupted: its journal is applied again before anything reads the log.
        CompactionJournal.Redo(directory, logBase, layout, logger);
        uint validationEpoch = meta is { } m ? m.Epoch + 1 : uint.MaxValue;
        Recovered recovered;
        RepairResult? repair = null;
        while (true)
        {
            var files = new LogFileReader(logBase, layout);
            try
            {
                recovered = await RecoverAsync(options, logger, monitor, indexDirectory, snapshotPath, files, layout, validationEpoch, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                files.Dispose();
                throw;
            }

            if (recovered.Damage is not { } damage)
            {
                break;
            }

            recovered.Index?.Dispose();
            string path = files.SegmentPath(layout.Segment(damage.Address));
            long offset = layout.OffsetInSegment(damage.Address);
            if (!options.Repair || repair is not null)
            {
                files.Dispose();
                logger.Error(
                    "The event log is damaged: {Reason} in {File} at offset {Offset} (log address {Address}). Refusing to start; --repair copies the damaged files aside and cuts the log there",
                    damage.Reason,
                    path,
                    offset,
                    damage.Address);
                throw new StoreDamagedException(path, offset, damage.Address, damage.Reason);
            }

            repair = LogRepair.Repair(directory, files, layout, damage, snapshotPath, recovered.CoveredAddress, recovered.Snapshot?.EventCount ?? 0);
            files.Dispose();
            logger.Error(
                "Repair: cut the event log at {File} offset {Offset} (log address {Address}) because {Reason}; the damaged files were copied to {Directory}",
                path,
                offset,
                damage.Address,
                damage.Reason,
                repair.Value.DamagedDirectory);
        }

        var (index, state, outcome, snapshot) = (recovered.Index!, recovered.State, recovered.Outcome!, recovered.Snapshot);
        long lostByRepair = 0;
        if (repair is { } repaired)
        {
            lostByRepair = Math.Max(0, repaired.PositionsThrough - state.EventCount);
            logger.Error("Repair: {Lost} events (positions {From} to {To}) were removed from the log; {Events} events remain", lostByRepair, state.EventCount, repaired.PositionsThrough - 1, state.EventCount);
            if (repaired.LostControlRecords > 0)
            {
                logger.Error("Repair: {Changes} lifecycle changes (DELETE/TRUNCATE/STREAMMETA/SNAPSHOT/FORGET) lost with the cut part of the log", repaired.LostControlRecords);
            }
        }

        long ignored = CutTornTail(recovered.Files, layout, outcome, logger);

        // Control records in the log (replayed, or in the snapshot's lifecycle state): store.meta says so, in a version
        // that builds before them refuse, so none of them replays this log and cuts a control record as a torn tail.
        var features = meta?.Features ?? StoreFeatures.None;
        for (long i = 0; i < state.Streams.Count && (features & StoreFeatures.ControlRecords) == 0; i++)
        {
            if (state.Streams[i].Lifecycle is not null)
            {
                features |= StoreFeatures.ControlRecords;
            }
        }

        // Keys of the index checkpoint may point at entries the log no longer holds: reads check the entries they find
        // at or above this address instead of rebuilding the whole index.
        long staleKeysFrom = meta?.StaleKeysFrom ?? StoreMeta.NoStaleKeys;
        if (snapshot is not null && outcome.Tail < snapshot.IndexUpperAddress)
        {
            staleKeysFrom = Math.Min(staleKeysFrom, outcome.Tail);
        }
        else if (snapshot is null)
        {
            staleKeysFrom = StoreMeta.NoStaleKeys; // rebuilt from the log: every key points at a replayed entry
        }

        // A new epoch, durable before anything is written, above every epoch that may be on disk.
        uint epoch = Math.Max(Math.Max(meta?.Epoch ?? 0, snapshot?.Epoch ?? 0), outcome.MaxEpoch) + 1;
        StoreMetaFile.Write(metaPath, new StoreMeta(epoch, segmentBits, staleKeysFrom, features));

        var report = new RecoveryReport
        {
            ReplayedFrom = outcome.From,
            Tail = outcome.Tail,
            ReplayedEntries = outcome.Entries,
            ReplayedEvents = outcome.Events,
            FromSnapshot = snapshot is not null,
            IndexToken = snapshot?.IndexToken ?? Guid.Empty,
            TailProblem = outcome.Problem ?? (ignored > 0 ? "non-zero bytes after the last valid record" : null) ?? (repair is not null ? "cut by --repair" : null),
            IgnoredBytes = ignored,
            MaxEpoch = outcome.MaxEpoch,
            MaxCommitNumber = outcome.MaxCommitNumber,
            EventsLostByRepair = lostByRepair,
            LifecycleChangesLostByRepair = repair?.LostControlRecords ?? 0,
            DamagedFilesDirectory = repair?.DamagedDirectory,
        };

        var commitManager = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(),
            new DefaultCheckpointNamingScheme(logDirectory),
            removeOutdated: true,
            fastCommitThrottleFreq: 1000);
        var logDevice = EventLogDevice.Create(logBase, options, monitor, logger, out bool directIo);
        if (options.DirectIo && !directIo)
        {
            logger.Information("Direct I/O is not available for {Directory}; the log is written through the page cache", logDirectory);
        }

        var log = new FasterLog(new FasterLogSettings
        {
            LogDevice = logDevice,
            PageSizeBits = options.LogPageSizeBits,
            MemorySizeBits = options.LogMemorySizeBits,
            SegmentSizeBits = segmentBits,
            LogCommitManager = commitManager,
            FastCommitMode = true,
            TryRecoverLatest = false,
        });
        await PositionLogAsync(log, commitManager, recovered.Files, layout, report, cancellationToken).ConfigureAwait(false);
        report.ElapsedMs = watch.ElapsedMilliseconds;

        return new OpenedStore
        {
            Options = options,
            Directory = directory,
            Layout = layout,
            Files = recovered.Files,
            Log = log,
            LogDevice = logDevice,
            CommitManager = commitManager,
            Index = index,
            State = state,
            Epoch = epoch,
            StaleKeysFrom = staleKeysFrom,
            Prefiller = new SegmentPrefiller(logBase, layout, logger),
            Recovery = report,
            Monitor = monitor,
        };
    }

    /// <summary>One recovery attempt: checks, index, replay, and the damage verdict on what follows the tail.</summary>
    private static async Task<Recovered> RecoverAsync(StoreOptions options, ILogger logger, DeviceMonitor monitor, string indexDirectory, string snapshotPath, LogFileReader files, LogLayout layout, uint validationEpoch, CancellationToken cancellationToken)
    {
        var segments = files.ExistingSegments();
        var snapshot = TryLoadSnapshot(snapshotPath, logger);
        long covered = snapshot?.CoveredAddress ?? LogLayout.FirstValidAddress;
        var damage = LogDamageCheck.FindMissingSegment(segments, layout, covered);
        if (damage is null && snapshot is not null)
        {
            damage = LogDamageCheck.VerifyCovered(files, layout, snapshot, logger);
        }

        if (damage is not null)
        {
            return new Recovered(files, Index: null, new CommittedState(new StreamTable(), new SparseIdIndex()), Outcome: null, snapshot, covered, damage);
        }

        var (recoveredIndex, usable) = await RecoverIndexAsync(options, logger, monitor, indexDirectory, snapshot, cancellationToken).ConfigureAwait(false);
        var state = new CommittedState(new StreamTable(), new SparseIdIndex());
        if (usable is not null)
        {
            LogReplay.LoadSnapshot(usable, state);
            logger.Information("Loaded snapshot: covered address {Address}, {Events} events, {Streams} streams", usable.CoveredAddress, usable.EventCount, usable.StreamNames.Length);
        }
        else
        {
            state.Restore(LogLayout.FirstValidAddress, 0, 0, 0, default, 0);
        }

        var outcome = await Task.Run(
            () => LogReplay.Replay(files, layout, state, recoveredIndex, usable?.Epoch ?? 0, validationEpoch, logger, cancellationToken),
            cancellationToken).ConfigureAwait(false);

        int lastSegment = segments.Count == 0 ? 0 : segments[^1];
        damage = LogDamageCheck.FindValidRecordAfter(files, layout, outcome, lastSegment);
        if (damage is null && outcome.Tail < covered)
        {
            // The snapshot was readable but its index checkpoint was not: the whole log was replayed, and it must reach
            // at least as far as the snapshot had counted.
            damage = new LogDamage(outcome.ProblemAddress >= 0 ? outcome.ProblemAddress : outcome.Tail, (outcome.Problem ?? "the log ends") + $" below the address {covered} a checkpoint covered");
        }

        return new Recovered(files, recoveredIndex, state, outcome, usable, covered, damage);
    }

    /// <summary>Recovers the index checkpoint the snapshot names, or starts an empty index when there is none or it is unusable.</summary>
    private static async Task<(EventIndex Index, StoreSnapshot? Snapshot)> RecoverIndexAsync(StoreOptions options, ILogger logger, DeviceMonitor monitor, string indexDirectory, StoreSnapshot? snapshot, CancellationToken cancellationToken)
    {
        if (snapshot is not null)
        {
            var index = new EventIndex(indexDirectory, options, monitor);
            try
            {
                await index.RecoverAsync(snapshot.IndexToken, snapshot.LogToken, cancellationToken).ConfigureAwait(false);
                return (index, snapshot);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The index is derived from the log: losing its checkpoint costs a replay, not data.
                logger.Warning(ex, "Index checkpoint {Token} could not be recovered; rebuilding the index from the whole log", snapshot.LogToken);
                index.Dispose();
            }
        }

        if (Directory.Exists(indexDirectory))
        {
            Directory.Delete(indexDirectory, recursive: true);
        }

        return (new EventIndex(indexDirectory, options, monitor), null);
    }

    /// <summary>Loads snapshot.bin; a damaged one only costs a replay of the whole log.</summary>
    private static StoreSnapshot? TryLoadSnapshot(string path, ILogger logger)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return StoreSnapshot.Load(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            logger.Warning(ex, "Snapshot {Path} is unusable; replaying the whole log", path);
            return null;
        }
    }

    /// <summary>
    /// Cuts a torn tail: zeroes what follows the last valid record up to the end of the page of the refused record
    /// (the tail's own page when the log ended in zeros), so those pages read as the log's end.
    /// </summary>
    private static long CutTornTail(LogFileReader files, LogLayout layout, ReplayOutcome outcome, ILogger logger)
    {
        long tail = outcome.Tail;
        long end = layout.NextPageStart(Math.Max(tail, outcome.ProblemAddress));
        long nonZero = LogRepair.CountNonZero(files, tail, end);
        if (nonZero == 0 && outcome.Problem is null)
        {
            return 0;
        }

        string path = files.SegmentPath(layout.Segment(tail));
        LogRepair.Zero(files, layout, tail, end);
        logger.Warning(
            "Recovery: cut a torn tail of the event log at {File} offset {Offset} (log address {Tail}): {Problem}; erased {Bytes} non-zero bytes after it. Nothing valid follows, so none of it was acknowledged",
            path,
            layout.OffsetInSegment(tail),
            tail,
            outcome.Problem ?? "non-zero bytes after the last valid record",
            nonZero);
        return nonZero;
    }

    /// <summary>
    /// Puts FasterLog's tail exactly at the recovered tail. FasterLog.Initialize at a mid-page address
    /// would leave that page's start zero in memory and a later partial flush would overwrite committed
    /// bytes with zeros, so initialize at the page start and enqueue the page's valid bytes again as
    /// raw records: same bytes, same addresses.
    /// </summary>
    private static async Task PositionLogAsync(FasterLog log, DeviceLogCommitCheckpointManager commitManager, LogFileReader files, LogLayout layout, RecoveryReport report, CancellationToken cancellationToken)
    {
        long pageStart = layout.PageStart(report.Tail);
        long lastCommit = Math.Max(report.MaxCommitNumber, commitManager.ListCommits().DefaultIfEmpty(0).Max());
        log.Initialize(0, pageStart, lastCommit);
        long rawStart = Math.Max(pageStart, LogLayout.FirstValidAddress);
        if (report.Tail > rawStart)
        {
            var bytes = new byte[report.Tail - rawStart];
            files.Read(rawStart, bytes);
            long address = log.UnsafeEnqueueRaw(bytes, noCommit: true);
            if (address != rawStart)
            {
                throw new InvalidOperationException($"FasterLog placed the recovered tail page at {address}, expected {rawStart}.");
            }

            await log.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (log.TailAddress < report.Tail)
        {
            throw new InvalidOperationException($"FasterLog tail {log.TailAddress} is behind the recovered tail {report.Tail}.");
        }
    }

    /// <summary>
    /// A store whose store.meta does not record its segment size (written before it did, or lost). Every segment but
    /// the last is written or prefilled to its full size, so with two or more segment files the first one's length is
    /// the size; with one, the configured size, grown until the file fits.
    /// </summary>
    internal static int InferSegmentBits(string logBase, int configured)
    {
        var first = new FileInfo(LogFileReader.SegmentPath(logBase, 0));
        if (!first.Exists)
        {
            return configured;
        }

        if (File.Exists(LogFileReader.SegmentPath(logBase, 1)) && first.Length > 0 && (first.Length & (first.Length - 1)) == 0)
        {
            return System.Numerics.BitOperations.Log2((ulong)first.Length);
        }

        int bits = configured;
        while (bits < 30 && first.Length > 1L << bits)
        {
            bits++;
        }

        return bits;
    }

    private static void ValidateOptions(StoreOptions options)
    {
        if (options.LogPageSizeBits is < 12 or > 30 || options.LogSegmentSizeBits < options.LogPageSizeBits || options.LogMemorySizeBits < options.LogPageSizeBits + 1)
        {
            throw new ArgumentException("Log sizes must satisfy 12 <= page bits <= 30, segment bits >= page bits, memory bits > page bits.", nameof(options));
        }

        if (options.FlushInterval is { } flush && flush <= TimeSpan.Zero)
        {
            throw new ArgumentException("The flush interval must be positive.", nameof(options));
        }
    }

    private static void DeleteLeftovers(params string[] directories)
    {
        foreach (var directory in directories)
        {
            foreach (var file in Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".prefill", StringComparison.Ordinal)))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>One recovery attempt's result; <see cref="Damage"/> set when the log must not be opened as it is.</summary>
    private sealed record Recovered(LogFileReader Files, EventIndex? Index, CommittedState State, ReplayOutcome? Outcome, StoreSnapshot? Snapshot, long CoveredAddress, LogDamage? Damage);
}
