using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>The event log's device: direct I/O where possible, the test seam, and writes kept in log order.</summary>
internal static class EventLogDevice
{
    /// <summary>
    /// <see cref="DirectLogDevice"/> (or FASTER's default device) for segments named <paramref name="logBase"/>.N, passed
    /// through <see cref="StoreOptions.DeviceDecorator"/>, inside an <see cref="OrderedWriteDevice"/> that reports
    /// failed writes to <paramref name="monitor"/>.
    /// </summary>
    public static IDevice Create(string logBase, StoreOptions options, DeviceMonitor monitor, Serilog.ILogger logger, out bool directIo)
    {
        // A segment the prefiller did not fill first (a new store's first one) is zero-filled ahead of the writes.
        var device = DirectLogDevice.Create(logBase, options.DirectIo, out directIo, options.PrefillLogSegments ? logger : null);
        return new OrderedWriteDevice(Decorate(options, StoreDeviceRole.EventLog, device), monitor, StoreDeviceRole.EventLog);
    }

    /// <summary>Applies <see cref="StoreOptions.DeviceDecorator"/>, when set, to a device of the given role.</summary>
    public static IDevice Decorate(StoreOptions options, StoreDeviceRole role, IDevice device)
        => options.DeviceDecorator is { } decorate ? decorate(role, device) : device;
}
