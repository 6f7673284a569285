using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// Starts the event log's writes one at a time, in the order FasterLog submits them: the next write starts from the
/// completion of the previous one. FasterLog issues page flushes concurrently, so after a kill -9 the disk could hold
/// a later page without an earlier one; in order, it always holds a prefix of the log, which recovery relies on
/// (a valid record after a bad one means damage, not a crash). Once a write fails (an error, or fewer bytes than
/// asked) every later write fails at once without reaching the disk, so nothing is ever written after a hole; the
/// failure goes to the <see cref="DeviceMonitor"/>, which makes the store read-only. Reads pass through unordered.
/// </summary>
internal sealed class OrderedWriteDevice : ForwardingDevice
{
    // What FASTER is told for a short write: only "non-zero" matters to it.
    private const uint ShortWriteError = 5; // EIO

    private readonly Queue<PendingWrite> _queue = new();
    private readonly Lock _lock = new();
    private readonly DeviceMonitor _monitor;
    private readonly StoreDeviceRole _role;
    private bool _writing;
    private uint _poison;

    public OrderedWriteDevice(IDevice inner, DeviceMonitor monitor, StoreDeviceRole role)
        : base(inner)
    {
        _monitor = monitor;
        _role = role;
    }

    /// <summary>True once a write failed: every later write fails without reaching the disk.</summary>
    public bool Poisoned => Volatile.Read(ref _poison) != 0;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        lock (_lock)
        {
            _queue.Enqueue(new PendingWrite(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context));
            if (_writing)
            {
                return;
            }

            _writing = true;
        }

        StartWrites();
    }

    /// <summary>
    /// Starts queued writes until one is in flight. A write the inner device completes inline is followed here (a
    /// trampoline), not from inside its completion, so a run of inline completions cannot grow the stack.
    /// </summary>
    private void StartWrites()
    {
        while (true)
        {
            PendingWrite? write;
            lock (_lock)
            {
                if (!_queue.TryDequeue(out write))
                {
                    _writing = false;
                    return;
                }
            }

            uint poison = Volatile.Read(ref _poison);
            if (poison != 0)
            {
                // Off this thread: FASTER may be inside its own flush bookkeeping when it submits a write.
                ThreadPool.UnsafeQueueUserWorkItem(static state => state.Write.Callback(state.Error, 0, state.Write.Context), (Write: write, Error: poison), preferLocal: false);
                continue;
            }

            Inner.WriteAsync(write.Source, write.SegmentId, write.Destination, write.Length, OnWritten, write);
            if (Interlocked.Exchange(ref write.Stage, PendingWrite.Started) != PendingWrite.Completed)
            {
                return; // its completion starts the next one
            }
        }
    }

    private void OnWritten(uint errorCode, uint numBytes, object context)
    {
        var write = (PendingWrite)context;
        uint error = errorCode != 0 ? errorCode : numBytes < write.Length ? ShortWriteError : 0;
        if (error != 0)
        {
            Interlocked.CompareExchange(ref _poison, error, 0);
            _monitor.WriteFailed(_role, write.SegmentId, errorCode, numBytes, write.Length);
        }

        write.Callback(error, numBytes, write.Context);
        if (Interlocked.Exchange(ref write.Stage, PendingWrite.Completed) == PendingWrite.Started)
        {
            StartWrites();
        }
    }

    /// <summary>One queued write; <see cref="Stage"/> tells the starter and the completion which of them goes on.</summary>
    private sealed class PendingWrite(IntPtr source, int segmentId, ulong destination, uint length, DeviceIOCompletionCallback callback, object context)
    {
        public const int Issued = 0;
        public const int Started = 1;
        public const int Completed = 2;

        public int Stage = Issued;

        public IntPtr Source { get; } = source;

        public int SegmentId { get; } = segmentId;

        public ulong Destination { get; } = destination;

        public uint Length { get; } = length;

        public DeviceIOCompletionCallback Callback { get; } = callback;

        public object Context { get; } = context;
    }
}
