using System.Collections.Concurrent;
using System.Diagnostics;
using FASTER.core;
using NUlid;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// The event store on FasterLog (the only source of truth: one record per ADD) with a FasterKV index,
/// an in-memory stream table and periodic checkpoints of everything derived from the log.
/// </summary>
public sealed class FasterEventStore : IEventStore
{
    private const string SnapshotFileName = "snapshot.bin";
    private const string MetaFileName = "store.meta";
    private const string LogFileName = "events.log";

    private readonly StoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _directory;
    private readonly LogLayout _layout;
    private readonly LogFileReader _files;
    private readonly LogEventReader _events;
    private readonly FasterLog _log;
    private readonly IDevice _logDevice;
    private readonly DeviceLogCommitCheckpointManager _commitManager;
    private readonly EventIndex _index;
    private readonly CommittedState _state;
    private readonly Committer _committer;
    private readonly AppendWriter _writer;
    private readonly IndexCheckpoint _checkpoint;
    private readonly SegmentPrefiller _prefiller;
    private readonly DeviceMonitor _monitor;
    private readonly ConcurrentBag<LogRecordScanner> _scanners = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _committerTask = Task.CompletedTask;
    private Task _checkpointTask = Task.CompletedTask;
    private long _sizeOnDisk;
    private long _sizeMeasuredAt = -1_000_000;
    private int _disposed;

    [ThreadStatic]
    private static ByteBuffer? t_summary;

    private FasterEventStore(StoreOptions options, ILogger logger, string directory, LogLayout layout, LogFileReader files, FasterLog log, IDevice logDevice, DeviceLogCommitCheckpointManager commitManager, EventIndex index, CommittedState state, uint epoch, SegmentPrefiller prefiller, RecoveryReport recovery, DeviceMonitor monitor)
    {
        _monitor = monitor;
        _options = options;
        _logger = logger;
        _directory = directory;
        _layout = layout;
        _files = files;
        _log = log;
        _logDevice = logDevice;
        _commitManager = commitManager;
        _index = index;
        _state = state;
        _prefiller = prefiller;
        LastRecovery = recovery;
        _events = new LogEventReader(files, layout);
        _committer = new Committer(log, state, logger, monitor, options.FlushInterval is { } flush && flush > options.RelaxedCommitEvery ? options.RelaxedCommitEvery : options.FlushInterval);
        _writer = new AppendWriter(log, index, state, _committer, _events, layout, epoch, options.MaxAppendBytes, acknowledgeBeforeCommit: options.FlushInterval is not null, monitor, logger);
        _checkpoint = new IndexCheckpoint(state, index, Path.Combine(directory, SnapshotFileName), epoch, recovery.FromSnapshot ? recovery.IndexToken : Guid.Empty, options, () => log.TailAddress, monitor, logger);
        if (options.PrefillLogSegments)
        {
            _committer.BatchApplied += _ => _prefiller.EnsureAhead(_log.TailAddress);
        }
    }

    /// <summary>What the recovery at open found and did.</summary>
    public RecoveryReport LastRecovery { get; }

    /// <inheritdoc />
    public long EventCount => _state.EventCount;

    /// <inheritdoc />
    public long StreamCount => _state.StreamCount;

    /// <inheritdoc />
    public long EventCountEstimate => _checkpoint.EventCountEstimate;

    /// <inheritdoc />
    public long StreamCountEstimate => _checkpoint.StreamCountEstimate;

    /// <inheritdoc />
    public StoreChecksum Checksum => _state.Checksum;

    /// <inheritdoc />
    public string? ReadOnlyReason => _monitor.ReadOnlyReason;

    /// <inheritdoc />
    public long SizeOnDisk
    {
        get
        {
            // Cheap enough to measure once a second on demand (a handful of files).
            long now = Environment.TickCount64;
            if (now - Volatile.Read(ref _sizeMeasuredAt) >= 1000)
            {
                Volatile.Write(ref _sizeOnDisk, MeasureSize(_directory, Volatile.Read(ref _sizeOnDisk)));
                Volatile.Write(ref _sizeMeasuredAt, now);
            }

            return Volatile.Read(ref _sizeOnDisk);
        }
    }

    /// <summary>Number of FasterLog commits issued since open (group commit: many appends share one).</summary>
    internal long CommitCount => _committer.CommitCount;

    /// <summary>True when the log is written with direct I/O (<see cref="DirectLogDevice"/>), false on FASTER's buffered device.</summary>
    internal bool DirectIo => ForwardingDevice.Unwrap(_logDevice) is DirectLogDevice;

    /// <summary>End address of the last committed entry.</summary>
    internal long AppliedEnd => _state.AppliedEnd;

    /// <summary>Test hook: close without the final checkpoint, so the next open must replay.</summary>
    internal bool SkipFinalCheckpoint { get; set; }

    /// <summary>Index checkpoints taken since open.</summary>
    internal long CheckpointsTaken => _checkpoint.Taken;

    /// <summary>Signals whenever the committed log moves on: the hook for long-poll reads and subscriptions.</summary>
    internal CommitNotifier Commits => _state.Notifier;

    /// <summary>Completes once more than <paramref name="eventCount"/> events are committed.</summary>
    internal Task WaitForEventsAfterAsync(long eventCount, CancellationToken cancellationToken)
        => _state.Notifier.WaitAsync(() => _state.EventCount > eventCount || Volatile.Read(ref _disposed) != 0, cancellationToken);

    /// <summary>Opens (creating when missing) the store in <see cref="StoreOptions.DataDirectory"/> and recovers it before returning.</summary>
    public static async Task<FasterEventStore> OpenAsync(StoreOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ValidateOptions(options);
        var watch = Stopwatch.StartNew();
        string directory = Path.GetFullPath(options.DataDirectory);
        string logDirectory = Path.Combine(directory, "log");
        string indexDirectory = Path.Combine(directory, "index");
        Directory.CreateDirectory(logDirectory);
        DeleteLeftovers(directory, logDirectory);
        logger.Information("Opening event store in {Directory}", directory);
        var monitor = new DeviceMonitor(logger);

        string logBase = Path.Combine(logDirectory, LogFileName);
        string metaPath = Path.Combine(directory, MetaFileName);
        var meta = StoreMetaFile.TryRead(metaPath);
        uint? lastEpoch = meta?.Epoch;
        bool hasLog = File.Exists(LogFileReader.SegmentPath(logBase, 0));
        if (lastEpoch is null && hasLog)
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
        var files = new LogFileReader(logBase, layout);

        var snapshot = TryLoadSnapshot(Path.Combine(directory, SnapshotFileName), files, layout, logger);
        uint validationEpoch = lastEpoch is { } e ? e + 1 : uint.MaxValue;
        var (index, state, report) = await RecoverIndexAndStateAsync(options, logger, indexDirectory, files, layout, snapshot, validationEpoch, monitor, cancellationToken).ConfigureAwait(false);
        if (report.FromSnapshot && report.Tail < snapshot!.IndexUpperAddress)
        {
            // The index checkpoint may hold keys of entries the log no longer has (lost in a crash, or cut as damaged).
            // Sparse version keys are not all overwritten by the appends that take those versions again, so such a
            // key could later be found instead of the right one: rebuild the index from the whole log.
            logger.Warning(
                "The log ends at {Tail}, below the {Upper} the index checkpoint may cover; rebuilding the index from the whole log",
                report.Tail,
                snapshot.IndexUpperAddress);
            index.Dispose();
            (index, state, report) = await RecoverIndexAndStateAsync(options, logger, indexDirectory, files, layout, snapshot: null, validationEpoch, monitor, cancellationToken).ConfigureAwait(false);
        }

        // A new epoch, durable before anything is written, above every epoch that may be on disk.
        uint epoch = Math.Max(Math.Max(lastEpoch ?? 0, snapshot?.Epoch ?? 0), report.MaxEpoch) + 1;
        StoreMetaFile.Write(metaPath, epoch, segmentBits);

        var prefiller = new SegmentPrefiller(logBase, layout, logger);

        var commitManager = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(),
            new DefaultCheckpointNamingScheme(logDirectory),
            removeOutdated: true,
            fastCommitThrottleFreq: 1000);
        var logDevice = EventLogDevice.Create(logBase, options, monitor, out bool directIo);
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
        await PositionLogAsync(log, commitManager, files, layout, report, cancellationToken).ConfigureAwait(false);

        var store = new FasterEventStore(options, logger, directory, layout, files, log, logDevice, commitManager, index, state, epoch, prefiller, report, monitor);
        store.Start();
        if (report.ReplayedEntries > 0 || report.TailProblem is not null)
        {
            // Record the recovered state now so the next open does not replay the same records again.
            await store._checkpoint.TakeAsync(force: true, cancellationToken).ConfigureAwait(false);
        }

        report.ElapsedMs = watch.ElapsedMilliseconds;
        logger.Information(
            "Event store open: {Events} events, {Streams} streams, tail {Tail}; replayed {Entries} entries from address {From} ({Mode}); epoch {Epoch}; took {Ms} ms",
            state.EventCount,
            state.StreamCount,
            report.Tail,
            report.ReplayedEntries,
            report.ReplayedFrom,
            report.FromSnapshot ? "from snapshot" : "full replay",
            epoch,
            report.ElapsedMs);
        return store;
    }

    /// <inheritdoc />
    public ValueTask<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_monitor.ReadOnlyReason is { } reason)
        {
            return ValueTask.FromException<AppendResult>(new StoreReadOnlyException(reason));
        }

        return _writer.SubmitAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<int> ReadStreamAsync(ReadOnlyMemory<byte> streamUtf8, long fromVersion, int limit, EventPage page, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(page);
        page.Clear();
        var stream = _state.Streams.Find(streamUtf8.Span);
        if (stream is null || limit <= 0)
        {
            return new ValueTask<int>(0);
        }

        long count = stream.Count;
        long from = Math.Max(0, fromVersion);
        long end = Math.Min(count, from + limit);
        long version = from;
        while (version < end)
        {
            if (!TryFindEntry(stream.Number, version, out var location, out long keyed))
            {
                throw new InvalidDataException($"The index has no entry for version {version} of stream '{stream.Name}' ({count} events).");
            }

            version += _events.ReadEntryEventsInto(location, exact: keyed == version, stream.Number, version, end, page);
        }

        return new ValueTask<int>(page.Count);
    }

    /// <summary>The location of the entry holding <paramref name="version"/>: the nearest keyed version at or below it (<see cref="VersionKeys"/>).</summary>
    private bool TryFindEntry(long streamNumber, long version, out IndexValue location, out long keyedVersion)
    {
        for (long v = version, lowest = VersionKeys.LowestProbe(version); v >= lowest; v--)
        {
            if (_index.TryGet(IndexKey.ForVersion(streamNumber, v), out location))
            {
                keyedVersion = v;
                return true;
            }
        }

        location = default;
        keyedVersion = -1;
        return false;
    }

    /// <inheritdoc />
    public ValueTask<int> ReadAllAsync(Ulid after, int limit, EventPage page, CancellationToken cancellationToken = default)
        => new(ReadAll(after, limit, page, filter: null, int.MaxValue).Count);

    /// <inheritdoc />
    public ValueTask<ReadAllProgress> ReadAllAsync(Ulid after, int limit, EventPage page, IEventFilter? filter, int maxScanned, CancellationToken cancellationToken = default)
        => new(ReadAll(after, limit, page, filter, maxScanned));

    /// <inheritdoc />
    public async ValueTask<bool> WaitForCommitAfterAsync(Ulid after, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var afterId = UlidCodec.FromUlid(after);
        bool Committed() => UlidCodec.FromUlid(_state.Checksum.LastId) > afterId;
        bool Ready() => Committed() || Volatile.Read(ref _disposed) != 0 || _stopping.IsCancellationRequested;
        if (Ready())
        {
            return Committed();
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            limit.CancelAfter(timeout);
        }

        try
        {
            // The notifier wakes on every published batch; a batch always moves the last id on, but loop to be sure.
            while (!Ready())
            {
                await _state.Notifier.WaitAsync(Ready, limit.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            // Time-out, caller cancellation or shutdown: answer with what is committed now.
        }

        return Committed();
    }

    private ReadAllProgress ReadAll(Ulid after, int limit, EventPage page, IEventFilter? filter, int maxScanned)
    {
        ArgumentNullException.ThrowIfNull(page);
        page.Clear();
        var lastScanned = UlidCodec.FromUlid(after);
        int scanned = 0;
        if (limit <= 0 || maxScanned <= 0)
        {
            return new ReadAllProgress(0, 0, after);
        }

        long end = _state.AppliedEnd;
        var afterId = UlidCodec.FromUlid(after);
        long start = afterId == UInt128.Zero ? LogLayout.FirstValidAddress : _state.Sparse.Floor(afterId, LogLayout.FirstValidAddress);
        if (!_scanners.TryTake(out var scanner))
        {
            scanner = new LogRecordScanner(_files, _layout, 256 * 1024);
        }

        try
        {
            // The window may hold bytes read before they were committed by an earlier read.
            scanner.Invalidate();
            scanner.Address = start;
            while (page.Count < limit && scanned < maxScanned)
            {
                var kind = scanner.Next(end);
                if (kind == RecordKind.End)
                {
                    break;
                }

                switch (kind)
                {
                    case RecordKind.Zero:
                        scanner.SkipToNextPage();
                        continue;
                    case RecordKind.CommitRecord:
                        continue;
                    case RecordKind.Invalid:
                        throw new InvalidDataException($"Committed log is unreadable: {scanner.Problem} at address {scanner.RecordAddress}.");
                }

                var entry = scanner.Payload;
                var view = new EntryView(entry);
                int offset = view.FirstEventOffset;
                for (int i = 0; i < view.EventCount && page.Count < limit && scanned < maxScanned; i++)
                {
                    var record = new EventRecord(entry, offset);
                    if (record.Id > afterId)
                    {
                        scanned++;
                        lastScanned = record.Id;
                        if (filter is null || filter.Matches(view.StreamName, record.Json))
                        {
                            page.Add(record.Json);
                        }
                    }

                    offset += record.Size;
                }
            }
        }
        finally
        {
            _scanners.Add(scanner);
        }

        return new ReadAllProgress(page.Count, scanned, UlidCodec.ToUlid(lastScanned));
    }

    /// <inheritdoc />
    public int ListStreams(long skip, int limit, EventPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        page.Clear();
        long end = Math.Min(_state.StreamCount, Math.Max(0, skip) + Math.Max(0, limit));
        var buffer = t_summary ??= new ByteBuffer(512);
        for (long i = Math.Max(0, skip); i < end; i++)
        {
            var stream = _state.Streams[i];
            buffer.Clear();
            EventJsonWriter.WriteStreamSummary(buffer, stream.Name, stream.Count, stream.CreatedMs, stream.UpdatedMs);
            page.Add(buffer.WrittenSpan);
        }

        return page.Count;
    }

    /// <inheritdoc />
    public Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _checkpoint.TakeAsync(force: true, cancellationToken);
    }

    /// <summary>Finishes queued appends, commits, takes a final checkpoint and closes the log and the index.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var watch = Stopwatch.StartNew();
        await _writer.CompleteAsync().ConfigureAwait(false);
        _committer.Complete();
        await _committerTask.ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _checkpointTask.ConfigureAwait(false);
        if (_committer.Fault is null && !SkipFinalCheckpoint)
        {
            try
            {
                await _checkpoint.TakeAsync(force: false, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.Error(ex, "Final checkpoint failed; the next open replays the log from the previous one");
            }
        }

        await _prefiller.StopAsync().ConfigureAwait(false);
        _prefiller.Dispose();
        _state.Notifier.Publish();
        _log.Dispose();
        _logDevice.Dispose();
        _commitManager.Dispose();
        _index.Dispose();
        _files.Dispose();
        _checkpoint.Dispose();
        _stopping.Dispose();
        _logger.Information("Event store closed: {Events} events, {Streams} streams, tail {Tail}; took {Ms} ms", EventCount, StreamCount, _state.AppliedEnd, watch.ElapsedMilliseconds);
    }

    private void Start()
    {
        _committerTask = Task.Run(_committer.RunAsync);
        _checkpointTask = Task.Run(() => _checkpoint.RunPeriodicAsync(_stopping.Token));
        if (_options.PrefillLogSegments)
        {
            _prefiller.EnsureAhead(_log.TailAddress);
        }
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

    /// <summary>Recovers the index checkpoint the snapshot names (or starts an empty index without one) and replays the log after it.</summary>
    private static async Task<(EventIndex Index, CommittedState State, RecoveryReport Report)> RecoverIndexAndStateAsync(StoreOptions options, ILogger logger, string indexDirectory, LogFileReader files, LogLayout layout, StoreSnapshot? snapshot, uint validationEpoch, DeviceMonitor monitor, CancellationToken cancellationToken)
    {
        EventIndex? index = null;
        if (snapshot is not null)
        {
            index = new EventIndex(indexDirectory, options, monitor);
            try
            {
                await index.RecoverAsync(snapshot.IndexToken, snapshot.LogToken, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.Warning(ex, "Index checkpoint {Token} could not be recovered; rebuilding the index from the whole log", snapshot.LogToken);
                index.Dispose();
                index = null;
                snapshot = null;
            }
        }

        if (index is null)
        {
            // No usable checkpoint: start the index from nothing and replay the whole log.
            if (Directory.Exists(indexDirectory))
            {
                Directory.Delete(indexDirectory, recursive: true);
            }

            index = new EventIndex(indexDirectory, options, monitor);
        }

        var state = new CommittedState(new StreamTable(), new SparseIdIndex());
        if (snapshot is not null)
        {
            Recovery.LoadSnapshot(snapshot, state);
            logger.Information("Loaded snapshot: covered address {Address}, {Events} events, {Streams} streams", snapshot.CoveredAddress, snapshot.EventCount, snapshot.StreamNames.Length);
        }
        else
        {
            state.Restore(LogLayout.FirstValidAddress, 0, 0, 0, default, 0);
        }

        var report = await Task.Run(
            () => Recovery.ReplayLog(files, layout, state, index, validationEpoch, snapshot, logger, cancellationToken),
            cancellationToken).ConfigureAwait(false);

        return (index, state, report);
    }

    private static StoreSnapshot? TryLoadSnapshot(string path, LogFileReader files, LogLayout layout, ILogger logger)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var snapshot = StoreSnapshot.Load(path);
            if (snapshot.CoveredAddress > LogLayout.FirstValidAddress
                && !File.Exists(files.SegmentPath(layout.Segment(snapshot.CoveredAddress - 1))))
            {
                throw new InvalidDataException($"The snapshot covers the log up to {snapshot.CoveredAddress} but segment {layout.Segment(snapshot.CoveredAddress - 1)} is missing.");
            }

            VerifyCoveredTail(snapshot.CoveredAddress, files, layout);
            return snapshot;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            if (ex.Message.Contains("segment", StringComparison.Ordinal))
            {
                throw;
            }

            logger.Warning(ex, "Snapshot {Path} is unusable; replaying the whole log", path);
            return null;
        }
    }

    /// <summary>
    /// Checks the entries of the last page the snapshot covers. Replay only verifies what follows the
    /// snapshot, so a tail damaged after a clean shutdown would otherwise be served; when it is damaged,
    /// the snapshot is dropped and a full replay cuts the log at the first bad entry.
    /// </summary>
    private static void VerifyCoveredTail(long coveredAddress, LogFileReader files, LogLayout layout)
    {
        if (coveredAddress <= LogLayout.FirstValidAddress)
        {
            return;
        }

        long start = Math.Max(LogLayout.FirstValidAddress, layout.PageStart(coveredAddress - 1));
        var scanner = new LogRecordScanner(files, layout, layout.PageSize) { Address = start };
        while (true)
        {
            var kind = scanner.Next(coveredAddress);
            switch (kind)
            {
                case RecordKind.End:
                    return;
                case RecordKind.Zero:
                    scanner.SkipToNextPage();
                    break;
                case RecordKind.Invalid:
                    throw new InvalidDataException($"The log before the snapshot's covered address is damaged: {scanner.Problem} at address {scanner.RecordAddress}.");
                case RecordKind.Entry when LogEntryFormat.Validate(scanner.Payload) is { } problem:
                    throw new InvalidDataException($"The log before the snapshot's covered address is damaged: {problem} in the entry at address {scanner.RecordAddress}.");
                default:
                    break;
            }
        }
    }

    /// <summary>
    /// A store whose store.meta does not record its segment size (written before it did, or lost): a first
    /// segment longer than the configured size was written with larger segments, whose files are prefilled
    /// to their full size once a later segment exists.
    /// </summary>
    private static int InferSegmentBits(string logBase, int configured)
    {
        var first = new FileInfo(LogFileReader.SegmentPath(logBase, 0));
        int bits = configured;
        if (first.Exists)
        {
            while (bits < 30 && first.Length > 1L << bits)
            {
                bits++;
            }
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

    private static long MeasureSize(string directory, long previous)
    {
        // Checkpoints delete files and directories while we walk: retry a few times, else keep the last figure.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                long total = 0;
                foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
                {
                    try
                    {
                        total += file.Length;
                    }
                    catch (FileNotFoundException)
                    {
                    }
                }

                return total;
            }
            catch (IOException)
            {
            }
        }

        return previous;
    }
}
