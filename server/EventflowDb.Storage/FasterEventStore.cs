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
    private readonly long _staleKeysFrom;
    private readonly DeviceMonitor _monitor;
    private readonly ConcurrentBag<LogRecordScanner> _scanners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _backupGate = new(1, 1);
    private Task _committerTask = Task.CompletedTask;
    private Task _checkpointTask = Task.CompletedTask;
    private Task _compactionTask = Task.CompletedTask;
    private long _compactedChanges = -1; // lifecycle changes applied when the last compaction started; -1: none since open
    private long _sizeOnDisk;
    private long _sizeMeasuredAt = -1_000_000;
    private int _disposed;

    [ThreadStatic]
    private static ByteBuffer? t_summary;

    private FasterEventStore(OpenedStore opened, ILogger logger)
    {
        var options = opened.Options;
        _options = options;
        _logger = logger;
        _directory = opened.Directory;
        _layout = opened.Layout;
        _files = opened.Files;
        _log = opened.Log;
        _logDevice = opened.LogDevice;
        _commitManager = opened.CommitManager;
        _index = opened.Index;
        _state = opened.State;
        _prefiller = opened.Prefiller;
        _staleKeysFrom = opened.StaleKeysFrom;
        _monitor = opened.Monitor;
        LastRecovery = opened.Recovery;
        _events = new LogEventReader(_files, _layout);
        Statistics = new StoreStatistics(() => _log.TailAddress - _log.BeginAddress, DateTimeOffset.UtcNow);
        _committer = new Committer(_log, _state, logger, _monitor, Statistics, options.FlushInterval is { } flush && flush > options.RelaxedCommitEvery ? options.RelaxedCommitEvery : options.FlushInterval);
        _writer = new AppendWriter(_log, _index, _state, _committer, _events, _layout, opened.Epoch, options.MaxAppendBytes, acknowledgeBeforeCommit: options.FlushInterval is not null, options.ReadOnlyOnAnyFailedAppend, _monitor, logger);
        _checkpoint = new IndexCheckpoint(_state, _index, Path.Combine(_directory, StoreOpener.SnapshotFileName), opened.Epoch, LastRecovery.FromSnapshot ? LastRecovery.IndexToken : Guid.Empty, options, () => _log.TailAddress, _monitor, Statistics, logger);
        if (options.PrefillLogSegments)
        {
            _committer.BatchApplied += _ => _prefiller.EnsureAhead(_log.TailAddress);
        }
    }

    /// <summary>What the recovery at open found and did.</summary>
    public RecoveryReport LastRecovery { get; }

    /// <inheritdoc />
    public StoreStatistics Statistics { get; }

    /// <inheritdoc />
    public long EventCount => _state.VisibleEvents;

    /// <inheritdoc />
    public long StreamCount => _state.StreamCount - _state.DeletedStreams;

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

    /// <summary>Tests only: called by a compaction once its journal is durable, before it rewrites the log (may throw, as a crash).</summary>
    internal Action<IReadOnlyList<LogPatch>>? CompactionFault { get; set; }

    /// <summary>Index checkpoints taken since open.</summary>
    internal long CheckpointsTaken => _checkpoint.Taken;

    /// <summary>Signals whenever the committed log moves on: the hook for long-poll reads and subscriptions.</summary>
    internal CommitNotifier Commits => _state.Notifier;

    /// <summary>Completes once more than <paramref name="eventCount"/> events are committed.</summary>
    internal Task WaitForEventsAfterAsync(long eventCount, CancellationToken cancellationToken)
        => _state.Notifier.WaitAsync(() => _state.EventCount > eventCount || Volatile.Read(ref _disposed) != 0, cancellationToken);

    /// <summary>Opens (creating when missing) the store in <see cref="StoreOptions.DataDirectory"/> and recovers it before returning.</summary>
    /// <exception cref="StoreDamagedException">The log is damaged in a way only <see cref="StoreOptions.Repair"/> may cut.</exception>
    public static async Task<FasterEventStore> OpenAsync(StoreOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var opened = await StoreOpener.OpenAsync(options, logger, cancellationToken).ConfigureAwait(false);
        var report = opened.Recovery;
        var store = new FasterEventStore(opened, logger);
        store.Start();
        if (report.ReplayedEntries > 0 || report.TailProblem is not null)
        {
            // Record the recovered state now so the next open does not replay the same records again.
            await store._checkpoint.TakeAsync(force: true, cancellationToken).ConfigureAwait(false);
        }

        logger.Information(
            "Event store open: {Events} events, {Streams} streams, tail {Tail}; replayed {Entries} entries from address {From} ({Mode}); epoch {Epoch}; took {Ms} ms",
            store.EventCount,
            store.StreamCount,
            report.Tail,
            report.ReplayedEntries,
            report.ReplayedFrom,
            report.FromSnapshot ? "from snapshot" : "full replay",
            opened.Epoch,
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
    public Task<LifecycleResult> DeleteStreamAsync(string stream, long? expectedVersion, long? addedAtMs = null, CancellationToken cancellationToken = default)
        => SubmitControl(new ControlRequest { Kind = ControlKind.Delete, Stream = stream, Expected = expectedVersion, AddedAt = addedAtMs }, cancellationToken);

    /// <inheritdoc />
    public Task<LifecycleResult> TruncateStreamAsync(string stream, long version, long? addedAtMs = null, CancellationToken cancellationToken = default)
        => SubmitControl(new ControlRequest { Kind = ControlKind.Truncate, Stream = stream, A = NonNegative(version, nameof(version)), AddedAt = addedAtMs }, cancellationToken);

    /// <inheritdoc />
    public Task<LifecycleResult> SetStreamMetadataAsync(string stream, long? maxCount, long? maxAgeMs, long? addedAtMs = null, CancellationToken cancellationToken = default)
        => SubmitControl(
            new ControlRequest
            {
                Kind = ControlKind.Metadata,
                Stream = stream,
                A = maxCount is { } count ? NonNegative(count, nameof(maxCount)) : ControlRecordFormat.Unchanged,
                B = maxAgeMs is { } age ? NonNegative(age, nameof(maxAgeMs)) : ControlRecordFormat.Unchanged,
                AddedAt = addedAtMs,
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<LifecycleResult> SaveSnapshotAsync(string stream, long version, ReadOnlyMemory<byte> data, long? addedAtMs = null, CancellationToken cancellationToken = default)
        => SubmitControl(new ControlRequest { Kind = ControlKind.Snapshot, Stream = stream, A = NonNegative(version, nameof(version)), Data = data, AddedAt = addedAtMs }, cancellationToken);

    /// <inheritdoc />
    public Task<LifecycleResult> ForgetStreamAsync(string stream, long? addedAtMs = null, CancellationToken cancellationToken = default)
        => SubmitControl(new ControlRequest { Kind = ControlKind.Forget, Stream = stream, AddedAt = addedAtMs }, cancellationToken);

    /// <inheritdoc />
    public StreamMetadata? GetStreamMetadata(string stream)
    {
        if (!_state.Streams.TryGet(stream, out var info) || info.Count == 0)
        {
            return null;
        }

        long count = info.Count;
        var lifecycle = info.Lifecycle;
        return new StreamMetadata(
            stream,
            lifecycle?.MaxCount ?? 0,
            lifecycle?.MaxAgeMs ?? 0,
            Math.Min(count, lifecycle?.HiddenBelow ?? 0),
            StreamLifecycle.IsDeleted(lifecycle, count),
            lifecycle?.ForgottenBelow ?? 0,
            count);
    }

    /// <inheritdoc />
    public StreamSnapshot? ReadSnapshot(string stream)
    {
        while (true)
        {
            if (!_state.Streams.TryGet(stream, out var info) || info.Lifecycle is not { SnapshotAddress: >= 0 } lifecycle)
            {
                return null;
            }

            long address = lifecycle.SnapshotAddress;
            BeforeSnapshotRead?.Invoke();
            Span<byte> header = stackalloc byte[LogLayout.RecordHeaderSize];
            _files.Read(address, header);
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header);
            if (length < ControlRecordFormat.HeaderSize || length > _layout.PageSize)
            {
                throw new InvalidDataException($"Snapshot record at {address} has an impossible length {length}.");
            }

            var record = new byte[length];
            _files.Read(address + LogLayout.RecordHeaderSize, record);
            if (ControlRecordFormat.Validate(record) is { } problem)
            {
                throw new InvalidDataException($"Snapshot record at {address} is unreadable: {problem}.");
            }

            var view = new ControlView(record);
            if (LogCompactor.IsBlank(view.Data) && _state.Streams.TryGet(stream, out var now) && now.Lifecycle?.SnapshotAddress != address)
            {
                // Superseded (a newer SNAPSHOT SAVE, or FORGET) and blanked by a compaction since its address was taken:
                // the stream's current snapshot (or none) is the answer.
                continue;
            }

            int dataStart = ControlRecordFormat.HeaderSize + view.NameLength;
            return new StreamSnapshot(view.A, record.AsMemory(dataStart), view.AddedAtMs);
        }
    }

    /// <summary>Tests only: runs in <see cref="ReadSnapshot"/> after it took the snapshot's address and before it reads the record.</summary>
    internal Action? BeforeSnapshotRead { get; set; }

    private Task<LifecycleResult> SubmitControl(ControlRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_monitor.ReadOnlyReason is { } reason)
        {
            return Task.FromException<LifecycleResult>(new StoreReadOnlyException(reason));
        }

        return _writer.SubmitControlAsync(request, cancellationToken);
    }

    private static long NonNegative(long value, string name)
        => value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, "must not be negative");

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
        var rules = StreamReadRules.None;
        if (stream.Lifecycle is { } lifecycle)
        {
            // Hidden versions are passed over; the page still holds at most `limit` events.
            from = Math.Max(from, lifecycle.LowestVisible(count));
            long expiredBefore = lifecycle.ExpiredBefore(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            rules = new StreamReadRules(expiredBefore, lifecycle.ForgottenBelow);
            if (expiredBefore != long.MinValue)
            {
                from = FirstUnexpired(stream, from, count, expiredBefore, page);
            }
        }

        long version = from;
        while (version < count && page.Count < limit && !page.IsFull)
        {
            page.EntryReads++;
            long end = Math.Min(count, version + (limit - page.Count));
            if (!TryFindEntry(stream.Number, version, out var location, out long keyed))
            {
                throw new InvalidDataException($"The index has no entry for version {version} of stream '{stream.Name}' ({count} events).");
            }

            int added = _events.ReadEntryEventsInto(location, exact: keyed == version, stream.Number, version, end, page, rules);
            if (added == 0)
            {
                // The page's byte limit: the next event does not fit (the page already holds one).
                break;
            }

            version += added;
        }

        return new ValueTask<int>(page.Count);
    }

    /// <summary>
    /// The lowest version in [<paramref name="from"/>, <paramref name="count"/>] whose entry was added at or after
    /// <paramref name="expiredBefore"/> (maxAge), by binary search over the version index: entries are stamped with the
    /// clock in log order, so the expired versions of a stream are a prefix, and a GET reads O(log n) entry headers
    /// instead of every expired entry. (After the clock steps back, the reads that follow still check each entry.)
    /// </summary>
    private long FirstUnexpired(StreamInfo stream, long from, long count, long expiredBefore, EventPage page)
    {
        long low = from, high = count;
        while (low < high)
        {
            long middle = low + ((high - low) / 2);
            page.EntryReads++;
            if (!TryFindEntry(stream.Number, middle, out var location, out _))
            {
                return from; // let the read report the missing key
            }

            if (_events.EntryAddedAtMs(location) < expiredBefore)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>The location of the entry holding <paramref name="version"/>: the nearest keyed version at or below it (<see cref="VersionKeys"/>).</summary>
    private bool TryFindEntry(long streamNumber, long version, out IndexValue location, out long keyedVersion)
    {
        for (long v = version, lowest = VersionKeys.LowestProbe(version); v >= lowest; v--)
        {
            // A key at or above the stale-key floor may be left from an entry a crash lost: trust it only if the entry it
            // points at is committed and holds the version.
            if (_index.TryGet(IndexKey.ForVersion(streamNumber, v), out location)
                && (location.Address < _staleKeysFrom || (location.Address < _state.AppliedEnd && _events.HoldsVersion(location, streamNumber, v))))
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
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
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
            bool full = false;
            while (!full && page.Count < limit && scanned < maxScanned)
            {
                if (!scanner.NextEntry(end, "Committed log is unreadable"))
                {
                    break;
                }

                var entry = scanner.Payload;
                if (ControlRecordFormat.IsControl(entry))
                {
                    continue; // a lifecycle change: no events
                }

                var view = new EntryView(entry);
                var lifecycle = _state.Streams[view.StreamNumber].Lifecycle;
                long streamCount = lifecycle is null ? 0 : _state.Streams[view.StreamNumber].Count;
                int offset = view.FirstEventOffset;
                for (int i = 0; i < view.EventCount && page.Count < limit && scanned < maxScanned; i++)
                {
                    var record = new EventRecord(entry, offset);
                    if (record.Id > afterId)
                    {
                        long version = view.FirstVersion + i;
                        bool visible = lifecycle is null || !lifecycle.Hides(version, streamCount, view.AddedAtMs, now);
                        bool matches = visible && (filter is null || filter.Matches(view.StreamName, record.Json));
                        if (matches && !page.Fits(record.JsonLength))
                        {
                            // Past the page's byte limit: this event is not examined, the next read starts at it.
                            full = true;
                            break;
                        }

                        scanned++;
                        lastScanned = record.Id;
                        if (matches && ((lifecycle is not null && lifecycle.ForgottenBelow > version) || record.IsScrubbed))
                        {
                            ForgottenEvent.AddTo(page, record.Json);
                        }
                        else if (matches)
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
        var buffer = t_summary ??= new ByteBuffer(512);
        long streams = _state.StreamCount;
        long toSkip = Math.Max(0, skip);
        if (_state.DeletedStreams == 0)
        {
            // Nothing to pass over: stream numbers are the listing's order.
            for (long i = toSkip; i < streams && page.Count < limit; i++)
            {
                AddSummary(page, buffer, _state.Streams[i]);
            }

            return page.Count;
        }

        for (long i = 0; i < streams && page.Count < limit; i++)
        {
            var stream = _state.Streams[i];
            if (StreamLifecycle.IsDeleted(stream.Lifecycle, stream.Count))
            {
                continue; // deleted: listed again once written again
            }

            if (toSkip > 0)
            {
                toSkip--;
                continue;
            }

            AddSummary(page, buffer, stream);
        }

        return page.Count;
    }

    private static void AddSummary(EventPage page, ByteBuffer buffer, StreamInfo stream)
    {
        buffer.Clear();
        long count = stream.Count;
        EventJsonWriter.WriteStreamSummary(buffer, stream.Name, count, count - StreamLifecycle.Hidden(stream.Lifecycle, count), stream.CreatedMs, stream.UpdatedMs);
        page.Add(buffer.WrittenSpan);
    }

    /// <inheritdoc />
    public Task<BackupResult> BackupAsync(string directory, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        StoreBackup.CheckTarget(_directory, directory);
        return BackupCoreAsync(directory, cancellationToken);
    }

    /// <summary>
    /// A backup into a directory of the data directory that no backup reads (the cluster's seed copy,
    /// <c>&lt;data&gt;/raft/seed-out</c>, served by SEED), which <see cref="BackupAsync"/> refuses for users. The caller
    /// owns that directory: files it keeps there beside the backup's (the consumer groups') are left alone.
    /// </summary>
    internal Task<BackupResult> BackupWithinAsync(string directory, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        StoreBackup.CheckInternalTarget(_directory, directory);
        return BackupCoreAsync(directory, cancellationToken);
    }

    private async Task<BackupResult> BackupCoreAsync(string directory, CancellationToken cancellationToken)
    {
        await _backupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var watch = Stopwatch.StartNew();

            // A fresh checkpoint first, so a server started on the backup replays little of the log.
            try
            {
                await _checkpoint.TakeAsync(force: false, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreReadOnlyException)
            {
                // No checkpoints while read-only: the backup takes the last one, and its server replays more.
            }

            using var paused = await _checkpoint.PauseAsync(cancellationToken).ConfigureAwait(false);
            long end;
            long events;
            StoreChecksum checksum;
            lock (_state.ApplyLock)
            {
                end = _state.AppliedEnd;
                events = _state.EventCount;
                checksum = _state.Checksum;
            }

            var backup = new StoreBackup(_directory, Path.GetFullPath(directory), _layout, _logger);
            long bytes = await Task.Run(() => backup.Copy(end, events, checksum, cancellationToken), cancellationToken).ConfigureAwait(false);
            _logger.Information(
                "Backup to {Directory}: {Events} events up to {LastId}, {Bytes} bytes copied in {Ms} ms",
                Path.GetFullPath(directory), events, checksum.LastId, bytes, watch.ElapsedMilliseconds);
            return new BackupResult(events, bytes, checksum.LastId, checksum);
        }
        finally
        {
            _backupGate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<CompactionResult> CompactAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // Not beside a backup: it copies segment files, and must copy each record whole.
        await _backupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_monitor.ReadOnlyReason is { } reason)
            {
                throw new StoreReadOnlyException(reason);
            }

            long changes = _state.LifecycleChanges;
            var compactor = new LogCompactor(_directory, Path.Combine(_directory, "log", StoreOpener.LogFileName), _layout, _files, _state, _logger) { Fault = CompactionFault };
            // File work (the tail page's scan, store.meta, the whole walk and its rewrites) runs on threads of its own, never
            // on the caller's (a session) nor for long on the thread pool's.
            string? stream = await RunLongAsync(
                () =>
                {
                    string? toSeal = compactor.StreamToSeal();
                    if (toSeal is not null)
                    {
                        StoreMetaFile.AddFeatures(Path.Combine(_directory, StoreOpener.MetaFileName), StoreFeatures.ScrubbedEvents);
                    }

                    return toSeal;
                },
                cancellationToken).ConfigureAwait(false);
            if (stream is not null)
            {
                // Forgotten bytes in the tail's page: a padding record fills it, so this compaction reaches them too.
                await SubmitControl(new ControlRequest { Kind = ControlKind.Padding, Stream = stream }, cancellationToken).ConfigureAwait(false);
            }

            var result = await RunLongAsync(() => compactor.Run(cancellationToken), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _sizeMeasuredAt, -1_000_000); // SIZE measures again
            Volatile.Write(ref _compactedChanges, changes);
            return result;
        }
        finally
        {
            _backupGate.Release();
        }
    }

    /// <summary>Runs blocking file work on a dedicated thread (LongRunning), off the thread pool.</summary>
    private static Task<T> RunLongAsync<T>(Func<T> work, CancellationToken cancellationToken)
        => Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    /// <inheritdoc />
    public Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _checkpoint.TakeAsync(force: true, cancellationToken);
    }

    /// <summary>Like <see cref="CheckpointAsync"/>, but says whether the checkpoint was taken (false: read-only store, or the checkpoint failed).</summary>
    internal Task<bool> TryCheckpointAsync(CancellationToken cancellationToken = default)
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
        await _compactionTask.ConfigureAwait(false);
        if (_committer.Fault is null)
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
        _backupGate.Dispose();
        _logger.Information("Event store closed: {Events} events, {Streams} streams, tail {Tail}; took {Ms} ms", EventCount, StreamCount, _state.AppliedEnd, watch.ElapsedMilliseconds);
    }

    private void Start()
    {
        _committerTask = Task.Run(_committer.RunAsync);
        _checkpointTask = Task.Run(() => _checkpoint.RunPeriodicAsync(_stopping.Token));
        if (_options.CompactionInterval > TimeSpan.Zero)
        {
            _compactionTask = Task.Run(() => RunCompactionsAsync(_stopping.Token));
        }
        if (_options.PrefillLogSegments)
        {
            _prefiller.EnsureAhead(_log.TailAddress);
        }
    }

    /// <summary>The background compaction: every <see cref="StoreOptions.CompactionInterval"/>, when there may be something to do.</summary>
    private async Task RunCompactionsAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.CompactionInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_state.LifecycleChanges == Volatile.Read(ref _compactedChanges) && !AnyStreamHasLimits())
                {
                    continue;
                }

                try
                {
                    await CompactAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (StoreReadOnlyException)
                {
                    // Logged when the store went read-only; no compaction until restart.
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.Error(ex, "Background compaction failed; the next one starts over");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>True when some stream has maxCount or maxAge (its events expire without a lifecycle change).</summary>
    private bool AnyStreamHasLimits()
    {
        for (long i = 0; i < _state.Streams.Count; i++)
        {
            if (_state.Streams[i].Lifecycle is { } lifecycle && (lifecycle.MaxCount > 0 || lifecycle.MaxAgeMs > 0))
            {
                return true;
            }
        }

        return false;
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
