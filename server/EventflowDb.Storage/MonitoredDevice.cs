using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// Reports the failed writes and reads of a device to the <see cref="DeviceMonitor"/> (FASTER only logs them, or
/// ignores them): the event index's log, where a failed write makes the store read-only and a failed read fails the
/// lookup, and index checkpoint files, where a failed write makes that checkpoint unusable.
/// </summary>
internal sealed class MonitoredDevice : ForwardingDevice
{
    private readonly DeviceMonitor _monitor;
    private readonly StoreDeviceRole _role;

    public MonitoredDevice(IDevice inner, DeviceMonitor monitor, StoreDeviceRole role)
        : base(inner)
    {
        _monitor = monitor;
        _role = role;
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
        => Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, OnWritten, new Io(segmentId, numBytesToWrite, callback, context));

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
        => Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, OnRead, new Io(segmentId, readLength, callback, context));

    private void OnWritten(uint errorCode, uint numBytes, object context)
    {
        var io = (Io)context;
        if (errorCode != 0 || numBytes < io.Length)
        {
            _monitor.WriteFailed(_role, io.SegmentId, errorCode, numBytes, io.Length);
        }

        io.Callback(errorCode, numBytes, io.Context);
    }

    private void OnRead(uint errorCode, uint numBytes, object context)
    {
        var io = (Io)context;
        if (errorCode != 0)
        {
            _monitor.ReadFailed(_role, io.SegmentId, errorCode);
        }

        io.Callback(errorCode, numBytes, io.Context);
    }

    private sealed record Io(int SegmentId, uint Length, DeviceIOCompletionCallback Callback, object Context);
}
