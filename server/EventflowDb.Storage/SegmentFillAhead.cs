using System.Runtime.InteropServices;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Zero-fills a log segment that was not prefilled (a new store's first segment, or one the log reached before its
/// prefill was ready) a few MiB ahead of its writes, so that its commits sync into written blocks as they do in a
/// prefilled segment instead of growing the file (about half as fast per sync on this machine: a fresh store started
/// at a third of its steady speed).
/// Zeros never land on data: every data write ends at or below <see cref="_filledTo"/> when it is issued, because a
/// write that would cross it first fills up to its end under <see cref="_lock"/>; a fill writes only at and above
/// <see cref="_filledTo"/>, under the same lock, and moves it only once its zeros are on disk. Zeros past the log's
/// tail are what a prefilled segment holds too: recovery reads them as the end of the log.
/// Filling is an optimization: a failure (disk full, I/O error) or a disk close to full stops it for the segment, and
/// the writes then grow the file as before.
/// </summary>
internal sealed unsafe class SegmentFillAhead
{
    private const int Chunk = 1 << 20;
    private const long Ahead = 4L << 20;
    private const long KeepFree = 64L << 20;
    private const int Sector = 4096;
    private static readonly byte* Zeros = AllocateZeros();

    private readonly int _fd;
    private readonly string _path;
    private readonly long _segmentSize;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private long _filledTo;
    private volatile bool _active = true;
    private int _backgroundClaimed;

    private SegmentFillAhead(int fd, string path, long segmentSize, long filledTo, ILogger logger)
    {
        _fd = fd;
        _path = path;
        _segmentSize = segmentSize;
        _filledTo = filledTo;
        _logger = logger;
    }

    /// <summary>
    /// Filling for the segment file at <paramref name="path"/>, open for direct writes as <paramref name="directFd"/>;
    /// null when the file already has the segment's full size (prefilled, or written to its end) or the size is unknown.
    /// </summary>
    public static SegmentFillAhead? For(int directFd, string path, long segmentSize, ILogger logger)
    {
        long length = new FileInfo(path).Length;
        if (segmentSize <= 0 || length >= segmentSize)
        {
            return null;
        }

        // Past the file's end nothing is written; a length within a sector leaves a hole that reads as zeros.
        long filledTo = (length + Sector - 1) & ~(long)(Sector - 1);
        return new SegmentFillAhead(directFd, path, segmentSize, filledTo, logger);
    }

    /// <summary>Before a data write that ends at <paramref name="end"/>: fills up to there first when the write would cross the filled part.</summary>
    public void BeforeWrite(long end)
    {
        if (!_active || end <= Volatile.Read(ref _filledTo))
        {
            return;
        }

        FillTo(end);
    }

    /// <summary>
    /// After a data write that ended at <paramref name="end"/>: true when fewer than <see cref="Ahead"/> bytes are filled
    /// beyond it and no background fill is claimed; the caller then runs <see cref="FillAheadOf"/> off its thread.
    /// </summary>
    public bool ClaimBackgroundFill(long end) =>
        _active && Volatile.Read(ref _filledTo) - end < Ahead && Interlocked.CompareExchange(ref _backgroundClaimed, 1, 0) == 0;

    /// <summary>The background fill claimed by <see cref="ClaimBackgroundFill"/>: fills <see cref="Ahead"/> bytes beyond <paramref name="end"/>.</summary>
    public void FillAheadOf(long end)
    {
        try
        {
            FillTo(Math.Min(end + Ahead, _segmentSize));
        }
        finally
        {
            Volatile.Write(ref _backgroundClaimed, 0);
        }
    }

    private void FillTo(long target)
    {
        lock (_lock)
        {
            while (_active && _filledTo < target)
            {
                FillChunk();
            }
        }
    }

    /// <summary>Writes the next chunk of zeros (synchronously: the descriptor is O_DIRECT | O_DSYNC); under the lock.</summary>
    private void FillChunk()
    {
        long start = _filledTo;
        long count = Math.Min(Chunk, _segmentSize - start);
        if (count <= 0)
        {
            _active = false;
            return;
        }

        if (FreeSpace() < KeepFree)
        {
            Stop("the disk is nearly full");
            return;
        }

        for (long done = 0; done < count;)
        {
            nint written = LinuxFile.Pwrite(_fd, Zeros, (nint)(count - done), start + done);
            if (written < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LinuxFile.Interrupted)
                {
                    continue;
                }

                Stop(ErrnoText.Describe((uint)errno));
                return;
            }

            if (written == 0)
            {
                Stop("a write made no progress");
                return;
            }

            done += written;
        }

        Volatile.Write(ref _filledTo, start + count);
        if (start + count >= _segmentSize)
        {
            _active = false;
        }
    }

    private void Stop(string reason)
    {
        _active = false;
        _logger.Warning("Log segment {File} is not zero-filled ahead of its writes ({Reason}); its appends grow the file", _path, reason);
    }

    private long FreeSpace()
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(Path.GetFullPath(_path))!).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return long.MaxValue;
        }
    }

    private static byte* AllocateZeros()
    {
        // One aligned buffer for the process, never freed: direct writes need sector-aligned memory.
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(Chunk, Sector);
        NativeMemory.Clear(buffer, Chunk);
        return buffer;
    }
}
