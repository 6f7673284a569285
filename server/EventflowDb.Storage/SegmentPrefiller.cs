using Serilog;

namespace EventflowDb.Storage;

/// <summary>
/// Zero-fills the next log segment file before FasterLog reaches it: write-through writes into
/// allocated, written blocks sync about twice as fast as writes that grow a file. The file is built
/// under a temporary name and linked into place only if FasterLog has not created it yet.
/// The first segment is not prefilled (FasterLog creates it at once) and the second only once the tail is
/// halfway through the first, so a small store (every test, a fresh ./data) never writes a segment's
/// worth of zeros; from then on the next segment is filled as soon as the tail enters a segment, which
/// leaves a whole segment's time for the fill.
/// Prefill is only an optimization: a fill that fails (disk full, any I/O error) is logged once at Warning, its partial
/// file deleted, and the log goes on growing its segments itself; a fill that would take the disk's last free space
/// (the log's own writes need it more) is not started.
/// </summary>
internal sealed class SegmentPrefiller : IDisposable
{
    private readonly string _basePath;
    private readonly LogLayout _layout;
    private readonly ILogger _logger;
    private int _requested = -1;
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private int _warned;

    public SegmentPrefiller(string basePath, LogLayout layout, ILogger logger)
    {
        _basePath = basePath;
        _layout = layout;
        _logger = logger;
    }

    /// <summary>Starts filling the segment after the one holding <paramref name="tailAddress"/>, once.</summary>
    public void EnsureAhead(long tailAddress)
    {
        int current = _layout.Segment(tailAddress);
        if (current == 0 && (tailAddress & (_layout.SegmentSize - 1)) < _layout.SegmentSize / 2)
        {
            return;
        }

        int next = current + 1;
        if (next <= Volatile.Read(ref _requested) || Interlocked.Exchange(ref _requested, next) >= next)
        {
            return;
        }

        var previous = _running;
        _running = Task.Run(async () =>
        {
            await previous.ConfigureAwait(false);
            Fill(next);
        });
    }

    /// <summary>Fills one segment under a temporary name, then links it into place.</summary>
    private void Fill(int segment)
    {
        string path = LogFileReader.SegmentPath(_basePath, segment);
        string temp = path + ".prefill";
        try
        {
            if (File.Exists(path))
            {
                return;
            }

            long free = FreeSpace(path);
            if (free < 2 * _layout.SegmentSize)
            {
                WarnOnce(null, "Segment {Segment} not prefilled: only {Free} bytes free on the log's disk", segment, free);
                return;
            }

            if (!DirectZeroFill.TryWrite(temp, _layout.SegmentSize, _stop.Token))
            {
                WriteZeros(temp);
            }

            // If the device created the segment meanwhile, its file (perhaps holding acknowledged commits) wins and ours
            // is dropped: the check and the rename are one atomic step, never a check then a rename.
            if (!MoveNoReplace(temp, path))
            {
                TryDelete(temp);
                return;
            }

            AtomicFile.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
        catch (OperationCanceledException)
        {
            TryDelete(temp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WarnOnce(ex, "Segment {Segment} was not prefilled ({Error}); the log grows it as it writes", segment, ex.Message);
            TryDelete(temp);
        }
    }

    private void WarnOnce(Exception? ex, string template, int segment, object detail)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0)
        {
            _logger.Warning(ex, template, segment, detail);
        }
        else
        {
            _logger.Debug(ex, template, segment, detail);
        }
    }

    /// <summary>Bytes free for an unprivileged writer on the file system holding <paramref name="path"/>; unknown counts as plenty.</summary>
    private static long FreeSpace(string path)
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(Path.GetFullPath(path))!).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return long.MaxValue;
        }
    }

    private static bool MoveNoReplace(string source, string target)
    {
        if (OperatingSystem.IsLinux())
        {
            return LinuxFile.RenameNoReplace(source, target);
        }

        try
        {
            File.Move(source, target, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(target))
        {
            return false;
        }
    }

    /// <summary>The fallback without direct I/O: ordinary writes through the page cache, then fsync.</summary>
    private void WriteZeros(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        var zeros = new byte[1 << 20];
        for (long written = 0; written < _layout.SegmentSize; written += zeros.Length)
        {
            if (_stop.IsCancellationRequested)
            {
                throw new IOException("Prefill stopped.");
            }

            stream.Write(zeros, 0, (int)Math.Min(zeros.Length, _layout.SegmentSize - written));
        }

        stream.Flush(flushToDisk: true);
    }

    /// <summary>Stops any fill under way and waits for it.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
    }

    public void Dispose() => _stop.Dispose();

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
