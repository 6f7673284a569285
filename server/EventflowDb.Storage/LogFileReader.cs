using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace EventflowDb.Storage;

/// <summary>
/// Reads committed log bytes straight from the segment files with positional reads (pread): no lock,
/// no FASTER epoch, no allocation per read. Sound because a commit completes only after FasterLog's
/// write-through writes of those bytes completed, and bytes below the commit point are never changed
/// (a later partial-page flush rewrites them with identical contents).
/// </summary>
internal sealed class LogFileReader : IDisposable
{
    private readonly string _basePath;
    private readonly LogLayout _layout;
    private readonly ConcurrentDictionary<int, SafeFileHandle> _handles = new();
    private readonly ManualResetEventSlim _patchDone = new(initialState: true, spinCount: 100); // reset while the sequence is odd
    private long _patchSequence; // odd while a compaction rewrites committed records (LogCompactor)

    public LogFileReader(string basePath, LogLayout layout)
    {
        _basePath = basePath;
        _layout = layout;
    }

    public static string SegmentPath(string basePath, int segment) => $"{basePath}.{segment}";

    public string SegmentPath(int segment) => SegmentPath(_basePath, segment);

    /// <summary>The numbers of the segment files on disk, in order.</summary>
    public IReadOnlyList<int> ExistingSegments()
    {
        string directory = Path.GetDirectoryName(_basePath)!;
        string prefix = Path.GetFileName(_basePath) + ".";
        var numbers = new List<int>();
        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(path).AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number))
            {
                numbers.Add(number);
            }
        }

        numbers.Sort();
        return numbers;
    }

    /// <summary>
    /// Marks the start of in-place rewrites of committed records (a compaction scrubbing forgotten events). Until
    /// <see cref="EndPatch"/>, reads wait; a read that overlapped a rewrite is done again, so every read sees each record
    /// either wholly before or wholly after it (a seqlock: readers never block the writer, and pay two volatile reads).
    /// </summary>
    public void BeginPatch()
    {
        _patchDone.Reset();
        Interlocked.Increment(ref _patchSequence);
    }

    /// <summary>Ends what <see cref="BeginPatch"/> began: the rewritten bytes are in the files (page cache).</summary>
    public void EndPatch()
    {
        Interlocked.Increment(ref _patchSequence);
        _patchDone.Set();
    }

    /// <summary>
    /// Record rewrites laid over what the files hold (the journal of a compaction a crash interrupted, for offline scans
    /// that change no file: <see cref="OfflineLog"/>); null for none.
    /// </summary>
    public IReadOnlyList<LogPatch>? Overlay { get; init; }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="address"/>; bytes past the end of a file read as zero.</summary>
    public void Read(long address, Span<byte> destination)
    {
        ReadStable(address, destination);
        if (Overlay is { } overlay)
        {
            foreach (var patch in overlay)
            {
                long from = Math.Max(address, patch.Address);
                long to = Math.Min(address + destination.Length, patch.Address + patch.Bytes.Length);
                if (from < to)
                {
                    patch.Bytes.AsSpan((int)(from - patch.Address), (int)(to - from)).CopyTo(destination[(int)(from - address)..]);
                }
            }
        }
    }

    private void ReadStable(long address, Span<byte> destination)
    {
        while (true)
        {
            long sequence = Volatile.Read(ref _patchSequence);
            if ((sequence & 1) != 0)
            {
                // A batch is being written: a short spin, then a blocking wait until EndPatch (no core burnt meanwhile).
                // The event is reset before the sequence turns odd and set after it turns even, so no wake-up is lost.
                _patchDone.Wait(10);
                continue;
            }

            ReadCore(address, destination);
            if (Volatile.Read(ref _patchSequence) == sequence)
            {
                return;
            }
        }
    }

    /// <summary>A read that ignores <see cref="BeginPatch"/> (for the patch writer itself).</summary>
    public void ReadUnchecked(long address, Span<byte> destination) => ReadCore(address, destination);

    private void ReadCore(long address, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int segment = _layout.Segment(address);
            long offset = _layout.OffsetInSegment(address);
            int chunk = (int)Math.Min(destination.Length, _layout.SegmentSize - offset);
            var target = destination[..chunk];
            int done = 0;
            var handle = GetHandle(segment);
            if (handle is not null)
            {
                while (done < chunk)
                {
                    int n = RandomAccess.Read(handle, target[done..], offset + done);
                    if (n == 0)
                    {
                        break;
                    }

                    done += n;
                }
            }

            target[done..].Clear();
            destination = destination[chunk..];
            address += chunk;
        }
    }

    public void Dispose()
    {
        foreach (var handle in _handles.Values)
        {
            handle.Dispose();
        }

        _handles.Clear();
        _patchDone.Dispose();
    }

    private SafeFileHandle? GetHandle(int segment)
    {
        if (_handles.TryGetValue(segment, out var handle))
        {
            return handle;
        }

        string path = SegmentPath(_basePath, segment);
        if (!File.Exists(path))
        {
            return null;
        }

        handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (!_handles.TryAdd(segment, handle))
        {
            handle.Dispose();
            handle = _handles[segment];
        }

        return handle;
    }
}
