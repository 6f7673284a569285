using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Where the store's device wrappers report failed I/O, and the store's read-only switch. FASTER reports a failed
/// write only as a number (and ignores it entirely in index checkpoints), so the devices tell us what failed.
/// A failed write to the event log or the index log makes the store read-only until restart: the log may have a hole
/// the next write would land after, and the index could silently miss keys. A failed checkpoint write only spoils
/// that checkpoint, and a failed index read only that read.
/// </summary>
internal sealed class DeviceMonitor
{
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<string> _readOnly = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _reason;
    private long _indexReadFailures;
    private long _checkpointWriteFailures;

    public DeviceMonitor(ILogger logger) => _logger = logger;

    /// <summary>Null while writes are accepted; else why the store is read-only.</summary>
    public string? ReadOnlyReason => Volatile.Read(ref _reason);

    /// <summary>Completes (with the reason) when the store goes read-only.</summary>
    public Task<string> ReadOnlyEntered => _readOnly.Task;

    /// <summary>Failed reads of the index log since open: a lookup that saw this move cannot trust its answer.</summary>
    public long IndexReadFailures => Interlocked.Read(ref _indexReadFailures);

    /// <summary>Failed checkpoint file writes since open: a checkpoint that saw this move is not used.</summary>
    public long CheckpointWriteFailures => Interlocked.Read(ref _checkpointWriteFailures);

    /// <summary>A device write failed (<paramref name="errorCode"/> non-zero) or wrote fewer bytes than asked.</summary>
    public void WriteFailed(StoreDeviceRole role, int segment, uint errorCode, uint written, uint length)
    {
        string error = errorCode != 0 ? ErrnoText.Describe(errorCode) : $"short write ({written} of {length} bytes)";
        string what = $"{error} writing segment {segment} of the {Describe(role)}";
        if (role == StoreDeviceRole.IndexCheckpoint)
        {
            Interlocked.Increment(ref _checkpointWriteFailures);
            _logger.Warning("Index checkpoint write failed: {Failure}; that checkpoint will not be used", what);
            return;
        }

        EnterReadOnly(what);
    }

    /// <summary>A device read failed or returned fewer bytes than asked.</summary>
    public void ReadFailed(StoreDeviceRole role, int segment, uint errorCode)
    {
        if (role == StoreDeviceRole.IndexLog)
        {
            Interlocked.Increment(ref _indexReadFailures);
        }

        _logger.Warning("Read of segment {Segment} of the {Device} failed: {Error}", segment, Describe(role), ErrnoText.Describe(errorCode));
    }

    /// <summary>Puts the store into read-only mode until restart; only the first reason is kept (and logged).</summary>
    public void EnterReadOnly(string reason)
    {
        if (Interlocked.CompareExchange(ref _reason, reason, null) is not null)
        {
            return;
        }

        _logger.Error("The store is read-only until restart: {Reason}. Reads and subscriptions go on; every ADD fails. Free space or fix the disk, then restart", reason);
        _readOnly.TrySetResult(reason);
    }

    private static string Describe(StoreDeviceRole role) => role switch
    {
        StoreDeviceRole.EventLog => "event log",
        StoreDeviceRole.IndexLog => "event index log",
        _ => "index checkpoint",
    };
}
