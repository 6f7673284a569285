using Serilog;

namespace EventflowDb.Storage;

/// <summary>What one BACKUP copied (SPEC "Backups and operations").</summary>
/// <param name="Events">Events in the backup: every event up to <paramref name="LastId"/>.</param>
/// <param name="BytesCopied">Bytes written into the backup directory by this BACKUP (unchanged files are not copied again).</param>
/// <param name="LastId">The last event in the backup (the zero id for an empty store).</param>
/// <param name="Checksum">The chained checksum of the store at <paramref name="LastId"/>: a server started on the backup reports it.</param>
public sealed record BackupResult(long Events, long BytesCopied, NUlid.Ulid LastId, StoreChecksum Checksum);

/// <summary>
/// Copies a live store into a backup directory as of one commit, the log cut exactly at <c>end</c> (the end of the last
/// committed entry). The caller holds the checkpoint gate, so snapshot.bin and the index checkpoint it names do not
/// change meanwhile. Sealed log segments change only when a compaction rewrites records in them, so one already in the
/// backup (from a backup that covered all of it, with no compaction since: <see cref="CompactionGeneration"/>) is not
/// copied again; index and FASTER commit files are copied when their size or time differs.
/// The result is a data directory: a server started on it recovers from the snapshot and replays the log up to
/// <c>end</c>, where the rest of the last segment is zeros.
/// </summary>
internal sealed class StoreBackup(string source, string target, LogLayout layout, ILogger logger)
{
    private const int CopyBufferSize = 1 << 20;

    private static readonly HashSet<string> BackupEntries =
        ["log", "index", StoreOpener.SnapshotFileName, StoreOpener.MetaFileName, BackupManifest.FileName, BackupManifest.FileName + ".tmp",
         CompactionGeneration.FileName];
    private readonly byte[] _buffer = new byte[CopyBufferSize];
    private long _bytesCopied;

    /// <summary>Refuses a target that is the store itself, inside it, or holding it, and one that holds something other than a backup of this store.</summary>
    public static void CheckTarget(string source, string target)
    {
        string src = WithSeparator(Path.GetFullPath(source));
        string dst = WithSeparator(Path.GetFullPath(target));
        if (dst.StartsWith(src, StringComparison.Ordinal) || src.StartsWith(dst, StringComparison.Ordinal))
        {
            throw new IOException($"the backup directory {target} must be outside the data directory (and not contain it)");
        }

        if (!Directory.Exists(target))
        {
            return;
        }

        // Only what a backup writes may be there: a directory of other files is refused, never overwritten.
        if (Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName).FirstOrDefault(n => !BackupEntries.Contains(n!)) is { } foreign)
        {
            throw new IOException($"the backup directory {target} holds '{foreign}', which is no part of a backup");
        }

        var manifest = BackupManifest.TryRead(target);

        if (manifest is not null && manifest.Source != Path.GetFullPath(source))
        {
            throw new IOException($"the backup directory {target} holds a backup of another store ({manifest.Source})");
        }
    }

    /// <summary>
    /// Accepts only a directory strictly inside the store whose first component is none of the entries a backup copies
    /// (log, index, snapshot.bin, ...), so the copy never reads what it writes.
    /// </summary>
    public static void CheckInternalTarget(string source, string target)
    {
        string src = WithSeparator(Path.GetFullPath(source));
        string dst = WithSeparator(Path.GetFullPath(target));
        if (!dst.StartsWith(src, StringComparison.Ordinal) || dst.Length == src.Length)
        {
            throw new IOException($"the internal backup directory {target} must be inside the data directory");
        }

        string first = dst[src.Length..].Split(Path.DirectorySeparatorChar)[0];
        if (BackupEntries.Contains(first))
        {
            throw new IOException($"the internal backup directory {target} is inside '{first}', which a backup copies");
        }
    }

    public long Copy(long end, long events, StoreChecksum checksum, CancellationToken cancellationToken)
    {
        var previous = BackupManifest.TryRead(target);
        string? generation = CompactionGeneration.Read(source);

        // A compaction since the previous backup rewrote sealed segments in place (same length): all are copied again,
        // or the backup would keep the bytes it scrubbed (the caller holds compactions off meanwhile).
        long previousEnd = previous is not null && previous.SegmentSizeBits == layout.SegmentSizeBits && previous.CompactionGeneration == generation ? previous.EndAddress : 0;
        Directory.CreateDirectory(Path.Combine(target, "log"));

        // From here until the new manifest is written, the directory is no complete backup.
        File.Delete(Path.Combine(target, BackupManifest.FileName));

        CopyLog(end, previousEnd, cancellationToken);
        Mirror(Path.Combine(source, "log", "log-commits"), Path.Combine(target, "log", "log-commits"), cancellationToken);
        Mirror(Path.Combine(source, "index"), Path.Combine(target, "index"), cancellationToken);
        foreach (string name in (ReadOnlySpan<string>)[StoreOpener.SnapshotFileName, StoreOpener.MetaFileName])
        {
            string from = Path.Combine(source, name);
            if (File.Exists(from))
            {
                CopyFile(from, Path.Combine(target, name), long.MaxValue, cancellationToken);
            }
        }

        AtomicFile.SyncDirectory(Path.Combine(target, "log"));
        new BackupManifest(Path.GetFullPath(source), end, layout.SegmentSizeBits, events, checksum.LastId.ToString(), checksum.Value, DateTimeOffset.UtcNow, generation).Write(target);
        return _bytesCopied;
    }

    private void CopyLog(long end, long previousEnd, CancellationToken cancellationToken)
    {
        string sourceBase = Path.Combine(source, "log", StoreOpener.LogFileName);
        string targetBase = Path.Combine(target, "log", StoreOpener.LogFileName);
        int last = layout.Segment(Math.Max(LogLayout.FirstValidAddress, end) - 1);
        for (int segment = 0; segment <= last; segment++)
        {
            string from = LogFileReader.SegmentPath(sourceBase, segment);
            string to = LogFileReader.SegmentPath(targetBase, segment);
            if (!File.Exists(from))
            {
                // An empty store has written no segment yet.
                continue;
            }
            long segmentEnd = ((long)segment + 1) << layout.SegmentSizeBits;
            if (segmentEnd <= end)
            {
                // Sealed: only a compaction changes it, so a copy made by a backup that covered all of it since is still right.
                bool unchanged = segmentEnd <= previousEnd && File.Exists(to) && new FileInfo(to).Length == new FileInfo(from).Length;
                if (!unchanged)
                {
                    CopyFile(from, to, long.MaxValue, cancellationToken);
                }
            }
            else
            {
                // The segment being written: only what the captured commit covers; the rest reads as zeros (the log's end).
                CopyFile(from, to, layout.OffsetInSegment(end), cancellationToken);
            }
        }

        // Segments a server on the backup wrote past its end (it was used as a data directory meanwhile) are not ours.
        for (int segment = last + 1; File.Exists(LogFileReader.SegmentPath(targetBase, segment)); segment++)
        {
            File.Delete(LogFileReader.SegmentPath(targetBase, segment));
        }
    }

    /// <summary>Makes <paramref name="to"/> hold the files of <paramref name="from"/>: changed ones copied, gone ones deleted.</summary>
    private void Mirror(string from, string to, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(from))
        {
            return;
        }

        Directory.CreateDirectory(to);
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(from).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file.FullName);
            wanted.Add(relative);
            string destination = Path.Combine(to, relative);
            var existing = new FileInfo(destination);
            if (existing.Exists && existing.Length == file.Length && existing.LastWriteTimeUtc == file.LastWriteTimeUtc)
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            try
            {
                CopyFile(file.FullName, destination, long.MaxValue, cancellationToken);
                File.SetLastWriteTimeUtc(destination, file.LastWriteTimeUtc);
            }
            catch (FileNotFoundException)
            {
                // FASTER removed it meanwhile (not one of the checkpoint's files: those are held still by the caller).
                wanted.Remove(relative);
            }
        }

        foreach (var file in new DirectoryInfo(to).EnumerateFiles("*", SearchOption.AllDirectories).ToList())
        {
            if (!wanted.Contains(Path.GetRelativePath(to, file.FullName)))
            {
                file.Delete();
            }
        }

        foreach (var directory in new DirectoryInfo(to).EnumerateDirectories("*", SearchOption.AllDirectories).OrderByDescending(d => d.FullName.Length).ToList())
        {
            if (!directory.EnumerateFileSystemInfos().Any())
            {
                directory.Delete();
            }
        }
    }

    /// <summary>Copies the first <paramref name="limit"/> bytes of a file (all of it at most); the copy keeps the source's length, zeros past the limit.</summary>
    private void CopyFile(string from, string to, long limit, CancellationToken cancellationToken)
    {
        using var input = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        long length = input.Length;
        using var output = new FileStream(to, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        _bytesCopied += StreamCopy.Prefix(input, output, Math.Min(limit, length), _buffer, cancellationToken);

        // A shorter copy is extended with zeros (a hole: no bytes written), so the segment keeps its size.
        output.SetLength(length);
        output.Flush(flushToDisk: true);
        logger.Debug("Backup copied {File} ({Bytes} of {Length} bytes)", to, Math.Min(limit, length), length);
    }

    private static string WithSeparator(string path) => path.EndsWith(Path.DirectorySeparatorChar) ? path : path + Path.DirectorySeparatorChar;
}
