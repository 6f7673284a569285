using System.Runtime.InteropServices;
using FASTER.core;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// FasterLog's device on Linux: segment files written with direct, synchronous I/O (O_DIRECT | O_DSYNC), read
/// through the page cache. FASTER's own device on Linux writes with O_SYNC through the page cache: every flush
/// copies the log into cache pages and the kernel writes them back, about a fifth of the server's CPU under a
/// steady ADD load on this machine; a direct write goes from FasterLog's sector-aligned page to the disk and is
/// durable when it returns (data, and with O_DSYNC whatever metadata is needed to read it back). Reads stay
/// buffered, so that the store's own readers and FASTER's agree on one cache.
/// Segment files are named as FASTER names them (<c>base.N</c>), so a store opens with either device.
/// </summary>
internal sealed unsafe class DirectLogDevice : StorageDeviceBase
{
    // Flushes are rounded to whole 4 KiB blocks: on drives with 512-byte logical and 4 KiB physical sectors a
    // 512-byte write would make the drive rewrite a physical sector holding acknowledged data.
    private const int Sector = 4096;
    private readonly Dictionary<int, Segment> _segments = new();
    private readonly Lock _segmentsLock = new();
    private readonly int _directFlags;
    private readonly ILogger? _fillAheadLogger;
    private int _disposed;
    private int _inFlight;

    private DirectLogDevice(string baseName, int directFlags, ILogger? fillAheadLogger)
        : base(baseName, Sector, Devices.CAPACITY_UNSPECIFIED)
    {
        _directFlags = directFlags;
        _fillAheadLogger = fillAheadLogger;
    }

    /// <summary>
    /// A direct device for segments named <paramref name="baseName"/>.N when <paramref name="enabled"/> and this file
    /// system takes direct synchronous writes (probed with a scratch file beside them); otherwise FASTER's default device.
    /// With <paramref name="fillAheadLogger"/>, a segment file shorter than the segment size is zero-filled ahead of
    /// its writes (<see cref="SegmentFillAhead"/>; the event log, whose next segments are prefilled the same way).
    /// </summary>
    public static IDevice Create(string baseName, bool enabled, out bool direct, ILogger? fillAheadLogger = null)
    {
        direct = false;
        if (!enabled || LinuxFile.Direct is not { } flag || !Probe(baseName + ".probe", flag | LinuxFile.Sync))
        {
            return Devices.CreateLogDevice(baseName);
        }

        direct = true;
        return new DirectLogDevice(baseName, flag | LinuxFile.Sync, fillAheadLogger);
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        // A write takes a sync (~0.1 ms): off the caller's thread, as FASTER's own device does.
        Queue(new PendingIo(this, write: true, segmentId, (byte*)sourceAddress, (long)destinationAddress, numBytesToWrite, callback, context));
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        Queue(new PendingIo(this, write: false, segmentId, (byte*)destinationAddress, (long)sourceAddress, readLength, callback, context));
    }

    public override void RemoveSegment(int segment)
    {
        lock (_segmentsLock)
        {
            if (_segments.Remove(segment, out var open))
            {
                open.Dispose();
            }
        }

        File.Delete(GetSegmentFilename(FileName, segment));
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override long GetFileSize(int segment)
    {
        if (segmentSize > 0)
        {
            return segmentSize;
        }

        var info = new FileInfo(GetSegmentFilename(FileName, segment));
        return info.Exists ? info.Length : 0;
    }

    public override void Reset() => CloseAll();

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Descriptors are closed only once no I/O uses them: a closed number can be reused by another file at once,
        // and a late write would land there.
        while (Volatile.Read(ref _inFlight) > 0)
        {
            Thread.Sleep(1);
        }

        CloseAll();
    }

    private void Queue(PendingIo io)
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Interlocked.Decrement(ref _inFlight);
            io.Callback(uint.MaxValue, 0, io.Context);
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(io, preferLocal: false);
    }

    /// <summary>Runs a claimed fill-ahead off the write's thread; counted as I/O in flight so that the descriptor stays open.</summary>
    private void QueueFill(SegmentFillAhead fill, long end)
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Interlocked.Decrement(ref _inFlight);
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            state =>
            {
                try
                {
                    state.fill.FillAheadOf(state.end);
                }
                finally
                {
                    Interlocked.Decrement(ref state.device._inFlight);
                }
            },
            (fill, end, device: this),
            preferLocal: false);
    }

    private void CloseAll()
    {
        lock (_segmentsLock)
        {
            foreach (var open in _segments.Values)
            {
                open.Dispose();
            }

            _segments.Clear();
        }
    }

    /// <summary>Runs one read or write to completion and reports it; errors are reported as FASTER's devices do, as a non-zero code.</summary>
    private void Run(PendingIo io)
    {
        uint error = 0;
        uint done = 0;
        try
        {
            var segment = GetSegment(io.SegmentId);
            int fd = io.Write ? segment.DirectFd : segment.BufferedFd;
            var fill = io.Write ? segment.FillAhead : null;
            fill?.BeforeWrite(io.FileOffset + io.Length);
            while (done < io.Length)
            {
                nint count = (nint)(io.Length - done);
                nint result = io.Write
                    ? LinuxFile.Pwrite(fd, io.Buffer + done, count, io.FileOffset + done)
                    : LinuxFile.Pread(fd, io.Buffer + done, count, io.FileOffset + done);
                if (result < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LinuxFile.Interrupted)
                    {
                        continue;
                    }

                    error = (uint)errno;
                    break;
                }

                if (result == 0 && io.Write)
                {
                    error = uint.MaxValue; // a write that makes no progress
                    break;
                }

                if (result == 0)
                {
                    // Reading past the end of a segment: the rest is zeros, as in FASTER's devices.
                    NativeMemory.Clear(io.Buffer + done, io.Length - done);
                    done = io.Length;
                    break;
                }

                done += (uint)result;
            }

            if (io.Write && error == 0)
            {
                // Direct writes leave the page cache without the data, and readers follow the tail closely
                // (subscriptions, GETALL, GET of fresh events): ask the kernel to read it back in the background.
                _ = LinuxFile.Fadvise(segment.BufferedFd, io.FileOffset, io.Length, LinuxFile.WillNeed);
                if (fill is not null && fill.ClaimBackgroundFill(io.FileOffset + io.Length))
                {
                    QueueFill(fill, io.FileOffset + io.Length);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            error = uint.MaxValue;
        }

        Interlocked.Decrement(ref _inFlight);
        io.Callback(error, error == 0 ? done : 0, io.Context);
    }

    /// <summary>
    /// The open segment, opened on first use under one lock (an open that fails is tried again by the next I/O, not
    /// remembered). A segment file this device creates is made durable with a directory fsync before any write to
    /// it is acknowledged: O_DSYNC covers the file's data and size, not its name.
    /// </summary>
    private Segment GetSegment(int segmentId)
    {
        lock (_segmentsLock)
        {
            if (_segments.TryGetValue(segmentId, out var open))
            {
                return open;
            }

            string path = GetSegmentFilename(FileName, segmentId);
            bool existed = File.Exists(path);
            var segment = OpenSegment(path);
            if (!existed)
            {
                try
                {
                    LinuxFile.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                }
                catch (IOException)
                {
                    segment.Dispose();
                    throw;
                }
            }

            _segments[segmentId] = segment;
            return segment;
        }
    }

    private Segment OpenSegment(string path)
    {
        int direct = LinuxFile.Open(path, LinuxFile.ReadWrite | LinuxFile.Create | LinuxFile.CloseOnExec | _directFlags, LinuxFile.Mode644);
        if (direct < 0)
        {
            throw new IOException($"Cannot open {path} for direct writes (errno {Marshal.GetLastPInvokeError()}).");
        }

        int buffered = LinuxFile.Open(path, LinuxFile.ReadOnly | LinuxFile.CloseOnExec, 0);
        if (buffered < 0)
        {
            _ = LinuxFile.Close(direct);
            throw new IOException($"Cannot open {path} for reading (errno {Marshal.GetLastPInvokeError()}).");
        }

        var fill = _fillAheadLogger is { } logger ? SegmentFillAhead.For(direct, path, segmentSize, logger) : null;
        return new Segment(direct, buffered, fill);
    }

    /// <summary>True when a sector-aligned direct synchronous write to a file at <paramref name="path"/> works.</summary>
    private static bool Probe(string path, int flags)
    {
        int fd;
        try
        {
            fd = LinuxFile.Open(path, LinuxFile.ReadWrite | LinuxFile.Create | LinuxFile.CloseOnExec | flags, LinuxFile.Mode644);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }

        if (fd < 0)
        {
            return false;
        }

        byte* buffer = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            NativeMemory.Clear(buffer, 4096);
            return LinuxFile.Pwrite(fd, buffer, Sector, 0) == Sector;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
            _ = LinuxFile.Close(fd);
            File.Delete(path);
        }
    }

    /// <summary>The two descriptors of one open segment: direct for writes, buffered for reads.</summary>
    private sealed class Segment(int directFd, int bufferedFd, SegmentFillAhead? fillAhead) : IDisposable
    {
        public int DirectFd { get; } = directFd;

        public int BufferedFd { get; } = bufferedFd;

        /// <summary>Zero-filling ahead of the writes, while the file is shorter than a segment.</summary>
        public SegmentFillAhead? FillAhead { get; } = fillAhead;

        public void Dispose()
        {
            _ = LinuxFile.Close(DirectFd);
            _ = LinuxFile.Close(BufferedFd);
        }
    }

    /// <summary>One queued read or write.</summary>
    private sealed class PendingIo(DirectLogDevice device, bool write, int segmentId, byte* buffer, long fileOffset, uint length, DeviceIOCompletionCallback callback, object context) : IThreadPoolWorkItem
    {
        public bool Write { get; } = write;

        public int SegmentId { get; } = segmentId;

        public byte* Buffer { get; } = buffer;

        public long FileOffset { get; } = fileOffset;

        public uint Length { get; } = length;

        public DeviceIOCompletionCallback Callback { get; } = callback;

        public object Context { get; } = context;

        public void Execute() => device.Run(this);
    }
}
