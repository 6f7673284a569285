using FASTER.core;

namespace EventflowDb.Storage;

/// <summary>
/// The index checkpoint manager's device factory: FASTER's local-file devices, decorated (test seam) and monitored,
/// because FASTER ignores failed checkpoint writes and would report a checkpoint with holes as complete.
/// </summary>
internal sealed class MonitoredDeviceFactory(StoreOptions options, DeviceMonitor monitor) : INamedDeviceFactory
{
    private readonly LocalStorageNamedDeviceFactory _files = new();

    public void Initialize(string baseName) => _files.Initialize(baseName);

    public IDevice Get(FileDescriptor fileInfo)
        => new MonitoredDevice(EventLogDevice.Decorate(options, StoreDeviceRole.IndexCheckpoint, _files.Get(fileInfo)), monitor, StoreDeviceRole.IndexCheckpoint);

    public void Delete(FileDescriptor fileInfo) => _files.Delete(fileInfo);

    public IEnumerable<FileDescriptor> ListContents(string path) => _files.ListContents(path);
}
