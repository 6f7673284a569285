using System.Buffers.Binary;
using System.IO.Hashing;
using Serilog;

namespace EventflowDb.Storage;

/// <summary>One in-place rewrite of a committed log record: its payload (after FasterLog's 4-byte length) at <see cref="Address"/>.</summary>
/// <param name="Address">Log address of the payload (the record's address plus <see cref="LogLayout.RecordHeaderSize"/>).</param>
/// <param name="Bytes">The whole new payload; same length as the old one.</param>
internal sealed record LogPatch(long Address, byte[] Bytes);

/// <summary>
/// compaction.journal: the redo log that makes in-place rewrites of committed records crash-safe. A batch of patches is
/// written to it atomically (<see cref="AtomicFile"/>) before any of them touches a segment file, and deleted once they
/// are all written and synced. A store that opens with a journal applies it again (idempotent: each patch holds the whole
/// new record) before recovery checks the log, so a record torn by a crash mid-rewrite is never seen. The journal holds
/// only the new bytes (skeletons of scrubbed events), never forgotten data. Little-endian layout:
/// <code>
/// u32 magic "EFJ1" | u32 count | count × (i64 address | i32 length | bytes) | u64 XxHash64 of everything before
/// </code>
/// </summary>
internal static class CompactionJournal
{
    public const string FileName = "compaction.journal";
    private const uint Magic = 0x314A4645; // "EFJ1"

    /// <summary>Bytes of the record header a patch must find unchanged before it is (re)applied: magic, length, epoch, positions, stream, time.</summary>
    private const int IdentityEnd = LogEntryFormat.HeaderSize;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>Punches the whole blocks inside each run of zeros of <paramref name="bytes"/>, which lie at <paramref name="offset"/> of the file.</summary>
    public static long PunchZeroRuns(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, ReadOnlySpan<byte> bytes)
    {
        long punched = 0;
        int i = 0;
        while (i < bytes.Length)
        {
            int zero = bytes[i..].IndexOf((byte)0);
            if (zero < 0)
            {
                break;
            }

            int start = i + zero;
            int run = bytes[start..].IndexOfAnyExcept((byte)0);
            int end = run < 0 ? bytes.Length : start + run;
            if (end - start >= 4096)
            {
                punched += LinuxFile.PunchZeros(file, offset + start, end - start);
            }

            i = end;
        }

        return punched;
    }

    /// <summary>Writes the journal for <paramref name="patches"/>, applies them to the segment files, syncs them, deletes the journal.</summary>
    /// <param name="fault">Tests only: runs after the journal is durable and before the segment files are touched (it may throw, as a crash there would stop the rest).</param>
    public static void Apply(string directory, string logBase, LogLayout layout, LogFileReader files, IReadOnlyList<LogPatch> patches, Action<IReadOnlyList<LogPatch>>? fault = null)
    {
        string path = PathIn(directory);
        AtomicFile.Write(path, stream => Write(stream, patches));
        fault?.Invoke(patches);
        Write(logBase, layout, files, patches);
        File.Delete(path);
    }

    /// <summary>The patches of a journal left by a crash, or null when there is none (or it is damaged).</summary>
    public static List<LogPatch>? TryLoad(string directory)
    {
        string path = PathIn(directory);
        return File.Exists(path) ? TryRead(File.ReadAllBytes(path)) : null;
    }

    /// <summary>Applies a journal left by a crash (no-op without one); returns how many patches it held.</summary>
    public static int Redo(string directory, string logBase, LogLayout layout, ILogger logger)
    {
        string path = PathIn(directory);
        if (!File.Exists(path))
        {
            return 0;
        }

        var patches = TryRead(File.ReadAllBytes(path));
        if (patches is null)
        {
            // AtomicFile only ever renames a complete, synced journal into place: this one is damaged, not torn.
            throw new StoreDamagedException(path, 0, 0, "compaction.journal is damaged (its checksum does not match)");
        }

        using (var files = new LogFileReader(logBase, layout))
        {
            Write(logBase, layout, files, patches);
        }

        File.Delete(path);
        logger.Warning("Compaction interrupted by a crash: {Patches} record rewrites of its journal applied again", patches.Count);
        return patches.Count;
    }

    private static void Write(Stream stream, IReadOnlyList<LogPatch> patches)
    {
        var hash = new XxHash64();
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(head, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(head[4..], patches.Count);
        stream.Write(head[..8]);
        hash.Append(head[..8]);
        foreach (var patch in patches)
        {
            BinaryPrimitives.WriteInt64LittleEndian(head, patch.Address);
            BinaryPrimitives.WriteInt32LittleEndian(head[8..], patch.Bytes.Length);
            stream.Write(head);
            hash.Append(head);
            stream.Write(patch.Bytes);
            hash.Append(patch.Bytes);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(head, hash.GetCurrentHashAsUInt64());
        stream.Write(head[..8]);
    }

    private static List<LogPatch>? TryRead(byte[] bytes)
    {
        if (bytes.Length < 16 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) != XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)))
        {
            return null;
        }

        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        var patches = new List<LogPatch>(count);
        int offset = 8;
        for (int i = 0; i < count; i++)
        {
            long address = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 8));
            offset += 12;
            patches.Add(new LogPatch(address, bytes.AsSpan(offset, length).ToArray()));
            offset += length;
        }

        return patches;
    }

    /// <summary>Writes the patches whose records still hold what they were made from (same length and header), then syncs the files.</summary>
    private static void Write(string logBase, LogLayout layout, LogFileReader files, IReadOnlyList<LogPatch> patches)
    {
        var streams = new Dictionary<int, FileStream>();
        try
        {
            var current = new byte[LogLayout.RecordHeaderSize + IdentityEnd];
            files.BeginPatch();
            try
            {
                foreach (var patch in patches)
                {
                    long recordAddress = patch.Address - LogLayout.RecordHeaderSize;
                    files.ReadUnchecked(recordAddress, current);
                    if (BinaryPrimitives.ReadInt32LittleEndian(current) != patch.Bytes.Length
                        || !current.AsSpan(LogLayout.RecordHeaderSize + LogEntryFormat.MagicOffset).SequenceEqual(patch.Bytes.AsSpan(LogEntryFormat.MagicOffset, IdentityEnd - LogEntryFormat.MagicOffset)))
                    {
                        continue; // not the record the patch was made for (a repair cut the log there): left alone
                    }

                    int segment = layout.Segment(patch.Address);
                    if (!streams.TryGetValue(segment, out var file))
                    {
                        file = new FileStream(LogFileReader.SegmentPath(logBase, segment), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1);
                        streams[segment] = file;
                    }

                    RandomAccess.Write(file.SafeFileHandle, patch.Bytes, layout.OffsetInSegment(patch.Address));
                }
            }
            finally
            {
                files.EndPatch();
            }

            foreach (var file in streams.Values)
            {
                file.Flush(flushToDisk: true);
            }

            // Durable now: the runs of zeros the rewrites left (where data was) go back to the file system.
            foreach (var patch in patches)
            {
                if (streams.TryGetValue(layout.Segment(patch.Address), out var file))
                {
                    PunchZeroRuns(file.SafeFileHandle, layout.OffsetInSegment(patch.Address), patch.Bytes);
                }
            }
        }
        finally
        {
            foreach (var file in streams.Values)
            {
                file.Dispose();
            }
        }
    }
}

/// <summary>
/// compaction.generation: a fresh id written (atomically, durably) by each compaction before its first rewrite of a
/// committed record. Sealed segments change only through such rewrites, in place and at the same length, so a backup
/// records the id in its manifest and copies every sealed segment again when it changed (<see cref="StoreBackup"/>).
/// </summary>
internal static class CompactionGeneration
{
    public const string FileName = "compaction.generation";

    /// <summary>The id of the last compaction that rewrote records, or null when none did.</summary>
    public static string? Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Records that the segment files are about to change: a new id, durable before the first rewrite.</summary>
    public static void Advance(string directory) =>
        AtomicFile.Write(Path.Combine(directory, FileName), stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N"))));
}
