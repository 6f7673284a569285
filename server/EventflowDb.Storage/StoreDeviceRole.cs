namespace EventflowDb.Storage;

/// <summary>What a FASTER device of the store holds: the role a <see cref="StoreOptions.DeviceDecorator"/> is called with.</summary>
public enum StoreDeviceRole
{
    /// <summary>The event log's segment files (FasterLog).</summary>
    EventLog,

    /// <summary>The event index's own log (FasterKV's hybrid log).</summary>
    IndexLog,

    /// <summary>Files of an index checkpoint (hash index and checkpoint metadata).</summary>
    IndexCheckpoint,
}
