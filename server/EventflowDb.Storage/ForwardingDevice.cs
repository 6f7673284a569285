using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// An <see cref="IDevice"/> that hands every call to an inner device, so that a wrapper overrides only what it
/// changes. FASTER's allocators write and read through the direct-addressing overloads: those are mapped to this
/// device's own segmented <see cref="WriteAsync(IntPtr, int, ulong, uint, DeviceIOCompletionCallback, object)"/> and
/// <see cref="ReadAsync(int, ulong, IntPtr, uint, DeviceIOCompletionCallback, object)"/> (as StorageDeviceBase does),
/// so an override sees every I/O instead of the inner device mapping them to itself.
/// </summary>
public abstract class ForwardingDevice : IDevice
{
    private int _segmentBits = 64;

    protected ForwardingDevice(IDevice inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The wrapped device.</summary>
    public IDevice Inner { get; }

    public uint SectorSize => Inner.SectorSize;

    public string FileName => Inner.FileName;

    public long Capacity => Inner.Capacity;

    public long SegmentSize => Inner.SegmentSize;

    public int StartSegment => Inner.StartSegment;

    public int EndSegment => Inner.EndSegment;

    public int ThrottleLimit
    {
        get => Inner.ThrottleLimit;
        set => Inner.ThrottleLimit = value;
    }

    public virtual void Initialize(long segmentSize, LightEpoch? epoch = null, bool omitSegmentIdFromFilename = false)
    {
        Inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        _segmentBits = segmentSize > 0 && (segmentSize & (segmentSize - 1)) == 0 ? System.Numerics.BitOperations.Log2((ulong)segmentSize) : 64;
    }

    public virtual bool TryComplete() => Inner.TryComplete();

    public virtual bool Throttle() => Inner.Throttle();

    public virtual void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
        => Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);

    public virtual void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
        => Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public void WriteAsync(IntPtr alignedSourceAddress, ulong alignedDestinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
        => WriteAsync(alignedSourceAddress, SegmentOf(alignedDestinationAddress), OffsetOf(alignedDestinationAddress), numBytesToWrite, callback, context);

    public void ReadAsync(ulong alignedSourceAddress, IntPtr alignedDestinationAddress, uint aligned_read_length, DeviceIOCompletionCallback callback, object context)
        => ReadAsync(SegmentOf(alignedSourceAddress), OffsetOf(alignedSourceAddress), alignedDestinationAddress, aligned_read_length, callback, context);

    public void TruncateUntilAddressAsync(long toAddress, AsyncCallback callback, IAsyncResult result) => Inner.TruncateUntilAddressAsync(toAddress, callback, result);

    public void TruncateUntilAddress(long toAddress) => Inner.TruncateUntilAddress(toAddress);

    public void TruncateUntilSegmentAsync(int toSegment, AsyncCallback callback, IAsyncResult result) => Inner.TruncateUntilSegmentAsync(toSegment, callback, result);

    public void TruncateUntilSegment(int toSegment) => Inner.TruncateUntilSegment(toSegment);

    public void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) => Inner.RemoveSegmentAsync(segment, callback, result);

    public void RemoveSegment(int segment) => Inner.RemoveSegment(segment);

    public long GetFileSize(int segment) => Inner.GetFileSize(segment);

    public void Reset() => Inner.Reset();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The innermost device below any chain of forwarding wrappers.</summary>
    public static IDevice Unwrap(IDevice device)
    {
        while (device is ForwardingDevice forwarding)
        {
            device = forwarding.Inner;
        }

        return device;
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }
    }

    private int SegmentOf(ulong address) => _segmentBits < 64 ? (int)(address >> _segmentBits) : 0;

    private ulong OffsetOf(ulong address) => _segmentBits < 64 ? address & ((1UL << _segmentBits) - 1) : address;
}
