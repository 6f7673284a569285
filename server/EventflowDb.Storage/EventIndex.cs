using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using FASTER.core;
using IndexSession = FASTER.core.ClientSession<
    EventflowDb.Storage.IndexKey,
    EventflowDb.Storage.IndexValue,
    EventflowDb.Storage.IndexValue,
    EventflowDb.Storage.IndexValue,
    FASTER.core.Empty,
    FASTER.core.SimpleFunctions<EventflowDb.Storage.IndexKey, EventflowDb.Storage.IndexValue>>;

namespace EventflowDb.Storage;

/// <summary>
/// Index key. (stream number, version) keys have a non-negative <see cref="Hi"/>; message-id keys are a
/// 128-bit hash with the top bit of <see cref="Hi"/> set, so the two kinds never collide.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IndexKey
{
    public long Hi;
    public long Lo;

    public static IndexKey ForVersion(long streamNumber, long version) => new() { Hi = streamNumber, Lo = version };

    public static IndexKey ForMessageId(long streamNumber, string messageId)
    {
        int max = 8 + Encoding.UTF8.GetMaxByteCount(messageId.Length);
        Span<byte> buffer = max <= 1024 ? stackalloc byte[max] : new byte[max];
        MemoryMarshal.Write(buffer, in streamNumber);
        int length = 8 + Encoding.UTF8.GetBytes(messageId, buffer[8..]);
        var hash = XxHash128.HashToUInt128(buffer[..length]);
        return new IndexKey { Hi = (long)((ulong)(hash >> 64) | (1UL << 63)), Lo = (long)(ulong)hash };
    }
}

/// <summary>Where an event lives: the log address of its entry and the byte offset of its record inside the entry.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IndexValue
{
    public long Address;
    public int Offset;
    public int Reserved;
}

internal sealed class IndexKeyComparer : IFasterEqualityComparer<IndexKey>
{
    public static readonly IndexKeyComparer Instance = new();

    public long GetHashCode64(ref IndexKey k) => Utility.GetHashCode(k.Hi) ^ (Utility.GetHashCode(k.Lo) * 31);

    public bool Equals(ref IndexKey k1, ref IndexKey k2) => k1.Hi == k2.Hi && k1.Lo == k2.Lo;
}

/// <summary>
/// FasterKV holding (stream, version) → location and (stream, message id hash) → location. Only the
/// writer (and recovery) upsert; readers rent sessions from a pool, so reads take no lock of ours.
/// Upserting the same key twice stores the same value, which makes replay after a checkpoint idempotent.
/// </summary>
internal sealed class EventIndex : IDisposable
{
    private readonly FasterKV<IndexKey, IndexValue> _kv;
    private readonly MonitoredDevice _device;
    private readonly DeviceLogCommitCheckpointManager _checkpointManager;
    private readonly DeviceMonitor _monitor;
    private readonly ConcurrentBag<IndexSession> _readSessions = [];
    private readonly SimpleFunctions<IndexKey, IndexValue> _functions = new();
    private IndexSession? _writeSession;
    private IndexSession? _checkpointSession;
    private static readonly TimeSpan CheckpointLimit = TimeSpan.FromMinutes(5);

    public EventIndex(string directory, StoreOptions options, DeviceMonitor monitor)
    {
        _monitor = monitor;
        Directory.CreateDirectory(directory);
        // The index's own log is flushed page by page as it grows: direct writes spare the page-cache copy there too.
        // Its failed writes make the store read-only (the index must not silently miss keys), its failed reads fail the lookup.
        string logPath = Path.Combine(directory, "index.log");
        var device = DirectLogDevice.Create(logPath, options.DirectIo, out _);
        _device = new MonitoredDevice(EventLogDevice.Decorate(options, StoreDeviceRole.IndexLog, device), monitor, StoreDeviceRole.IndexLog);
        _checkpointManager = new DeviceLogCommitCheckpointManager(
            new MonitoredDeviceFactory(options, monitor),
            new DefaultCheckpointNamingScheme(directory),
            removeOutdated: false);
        _kv = new FasterKV<IndexKey, IndexValue>(
            1L << options.IndexBucketBits,
            new LogSettings
            {
                LogDevice = _device,
                PageSizeBits = options.IndexPageSizeBits,
                MemorySizeBits = options.IndexMemorySizeBits,
                SegmentSizeBits = options.IndexSegmentSizeBits,
            },
            new CheckpointSettings { CheckpointManager = _checkpointManager },
            comparer: IndexKeyComparer.Instance);
    }

    public long EntryCount => _kv.EntryCount;

    /// <summary>Recovers the index to a checkpoint taken earlier.</summary>
    public async Task RecoverAsync(Guid indexToken, Guid logToken, CancellationToken cancellationToken)
        => await _kv.RecoverAsync(indexToken, logToken, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Upsert by the single writer (or recovery).</summary>
    public void Upsert(IndexKey key, IndexValue value)
    {
        var session = _writeSession ??= NewSession();
        var status = session.Upsert(ref key, ref value);
        if (status.IsPending)
        {
            session.CompletePending(wait: true);
        }
    }

    /// <summary>Lookup from the writer's own session (writer thread only).</summary>
    public bool TryGetForWriter(IndexKey key, out IndexValue value) => TryGet(_writeSession ??= NewSession(), key, out value);

    /// <summary>Lookup from any thread.</summary>
    public bool TryGet(IndexKey key, out IndexValue value)
    {
        if (!_readSessions.TryTake(out var session))
        {
            session = NewSession();
        }

        try
        {
            return TryGet(session, key, out value);
        }
        finally
        {
            _readSessions.Add(session);
        }
    }

    /// <summary>Takes a checkpoint: the hash index and the log when <paramref name="full"/>, else the log only.</summary>
    public async Task<(Guid Token, bool Success)> CheckpointAsync(bool full, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool started = full
            ? _kv.TryInitiateFullCheckpoint(out var token, CheckpointType.FoldOver)
            : _kv.TryInitiateHybridLogCheckpoint(out token, CheckpointType.FoldOver);
        if (!started)
        {
            return (token, false);
        }

        // Once started it is finished, cancelled or not: an abandoned one would keep FASTER's state machine busy
        // and refuse the final checkpoint at shutdown.
        await WaitForCheckpointAsync().ConfigureAwait(false);
        return (token, true);
    }

    /// <summary>
    /// Waits until the checkpoint state machine is back at rest, stepping it from a session of its own once a
    /// millisecond. FASTER's CompleteCheckpointAsync steps it in a loop without yielding while it waits for the
    /// writer's session to move on: on 2 cores that spin took a core from the writer it waited for (about a
    /// tenth of the server's CPU under a steady ADD load). The writer's own operations step it too.
    /// </summary>
    private async Task WaitForCheckpointAsync()
    {
        var session = _checkpointSession ??= NewSession();
        var unsafeContext = session.UnsafeContext;
        var deadline = DateTime.UtcNow + CheckpointLimit;
        while (true)
        {
            // A step that throws must still leave the epoch, or every later drain and checkpoint would stall.
            unsafeContext.BeginUnsafe();
            try
            {
                unsafeContext.Refresh();
            }
            finally
            {
                unsafeContext.EndUnsafe();
            }

            if (_kv.SystemState.Phase == Phase.REST)
            {
                return;
            }

            if (_monitor.ReadOnlyReason is { } reason)
            {
                // An index log flush failed: the checkpoint waits for it for ever.
                throw new StoreReadOnlyException(reason);
            }

            if (DateTime.UtcNow > deadline)
            {
                // A failed index flush never completes; report it rather than wait for ever (shutdown waits on this).
                throw new TimeoutException($"The index checkpoint did not complete within {CheckpointLimit.TotalMinutes} minutes.");
            }

            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes every index and log checkpoint except the given ones.</summary>
    public void PurgeCheckpointsExcept(Guid indexToken, Guid logToken)
    {
        var obsolete = _checkpointManager.GetIndexCheckpointTokens()
            .Concat(_checkpointManager.GetLogCheckpointTokens())
            .Where(t => t != indexToken && t != logToken)
            .Distinct()
            .ToList();
        foreach (var token in obsolete)
        {
            _checkpointManager.Purge(token);
        }
    }

    /// <summary>Deletes one checkpoint (index and log parts): one whose files could not all be written.</summary>
    public void PurgeCheckpoint(Guid token) => _checkpointManager.Purge(token);

    public void Dispose()
    {
        _writeSession?.Dispose();
        _checkpointSession?.Dispose();
        while (_readSessions.TryTake(out var session))
        {
            session.Dispose();
        }

        _kv.Dispose();
        _device.Dispose();
        _checkpointManager.Dispose();
    }

    private bool TryGet(IndexSession session, IndexKey key, out IndexValue value)
    {
        value = default;
        long readFailures = _monitor.IndexReadFailures;
        var status = session.Read(ref key, ref value);
        if (status.IsPending)
        {
            session.CompletePendingWithOutputs(out var outputs, wait: true);
            using (outputs)
            {
                if (outputs.Next())
                {
                    status = outputs.Current.Status;
                    value = outputs.Current.Output;
                }
            }

            // FASTER parses whatever is in the buffer of a failed disk read; the device told the monitor. (A failure of a
            // concurrent lookup fails this one too: rare, and safe.)
            if (_monitor.IndexReadFailures != readFailures)
            {
                throw new IOException("Reading the event index from disk failed (I/O error).");
            }
        }

        if (status.Found)
        {
            return true;
        }

        // A failed read of the index log is not "not found": that answer would let a duplicate id be stored twice.
        return status.NotFound ? false : throw new IOException($"Reading the event index failed ({status}).");
    }

    private IndexSession NewSession() => _kv.For(_functions).NewSession<SimpleFunctions<IndexKey, IndexValue>>();
}
