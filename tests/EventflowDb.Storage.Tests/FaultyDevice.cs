using FASTER.core;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// Fault injection below the store (through <see cref="StoreOptions.DeviceDecorator"/>): fails writes from a given one
/// on with an errno, shortens one write, or fails reads with EIO. Failures are reported asynchronously, as a real
/// device does, and never touch the disk.
/// </summary>
internal sealed class FaultyDevice(IDevice inner) : ForwardingDevice(inner)
{
    public const uint NoSpace = 28; // ENOSPC
    public const uint IoError = 5; // EIO

    private int _writes;

    /// <summary>Writes seen so far (the next one is number <c>Writes + 1</c>).</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>The first write (1-based) to fail; every later one fails too, as on a full disk. Null: none.</summary>
    public int? FailWritesFrom { get; set; }

    public uint WriteError { get; set; } = NoSpace;

    /// <summary>The write (1-based) to cut short: it writes all but its last sector and reports success with fewer bytes.</summary>
    public int? ShortWrite { get; set; }

    /// <summary>While true every read fails with EIO.</summary>
    public bool FailReads { get; set; }

    /// <summary>Fails writes from the next one on.</summary>
    public void FailNextWrites(uint error)
    {
        WriteError = error;
        FailWritesFrom = Writes + 1;
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        int number = Interlocked.Increment(ref _writes);
        if (FailWritesFrom is { } from && number >= from)
        {
            Complete(callback, WriteError, 0, context);
            return;
        }

        if (ShortWrite == number)
        {
            uint shortened = numBytesToWrite > SectorSize ? numBytesToWrite - SectorSize : 0;
            if (shortened == 0)
            {
                Complete(callback, 0, 0, context);
                return;
            }

            Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, shortened, callback, context);
            return;
        }

        Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        if (FailReads)
        {
            Complete(callback, IoError, 0, context);
            return;
        }

        Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);
    }

    private static void Complete(DeviceIOCompletionCallback callback, uint error, uint bytes, object context)
        => ThreadPool.UnsafeQueueUserWorkItem(_ => callback(error, bytes, context), null);
}
