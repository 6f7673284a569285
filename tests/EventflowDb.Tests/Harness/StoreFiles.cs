using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.RegularExpressions;

namespace EventflowDb.Tests.Harness;

/// <summary>The files of a data directory, as the integrity tests see them from outside the server.</summary>
public static partial class StoreFiles
{
    /// <summary>
    /// The smallest log segment a store accepts: one log page (4 MiB, <c>StoreOptions.LogPageSizeBits</c>). The
    /// server has no flag for the segment size (32 MiB by default); a store keeps the size recorded in its
    /// <c>store.meta</c> when it was created, so <see cref="CreateWithSegmentBits"/> makes one with small segments.
    /// </summary>
    public const int SmallestSegmentBits = 22;

    /// <summary>
    /// Prepares an empty data directory whose store will use log segments of 2^<paramref name="segmentBits"/> bytes:
    /// writes the <c>store.meta</c> a new store would write (format "MET2": magic, epoch 0, segment size bits,
    /// XxHash64 of the first 16 bytes), which the server honours for the life of the store.
    /// </summary>
    public static void CreateWithSegmentBits(string dataDirectory, int segmentBits = SmallestSegmentBits)
    {
        Directory.CreateDirectory(dataDirectory);
        if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new InvalidOperationException($"{dataDirectory} is not empty");
        }

        var bytes = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x3254454D); // "MET2"
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), segmentBits);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), XxHash64.HashToUInt64(bytes.AsSpan(0, 16)));
        File.WriteAllBytes(Path.Combine(dataDirectory, "store.meta"), bytes);
    }

    /// <summary>The event log's segment files (<c>log/events.log.N</c>) by number, lowest first.</summary>
    public static List<(int Number, FileInfo File)> LogSegments(string dataDirectory)
    {
        var log = new DirectoryInfo(Path.Combine(dataDirectory, "log"));
        if (!log.Exists)
        {
            return [];
        }

        return [.. log.EnumerateFiles()
            .Select(f => (Match: SegmentName().Match(f.Name), File: f))
            .Where(x => x.Match.Success)
            .Select(x => (int.Parse(x.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), x.File))
            .OrderBy(x => x.Item1)];
    }

    /// <summary>The number of a log segment file name (<c>events.log.N</c>), or null.</summary>
    public static int? SegmentNumber(string fileName)
    {
        var match = SegmentName().Match(fileName);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>True when the first <paramref name="bytes"/> bytes of the file hold anything but zeros (a segment the log has written into, not just a prefilled one).</summary>
    public static bool StartsWithData(string path, int bytes = 4096)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[bytes];
            int read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return buffer.AsSpan(0, read).ContainsAnyExcept((byte)0);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Offset of the last non-zero byte of a file, or -1.</summary>
    public static long LastNonZeroByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[1 << 20];
        long end = file.Length;
        while (end > 0)
        {
            int chunk = (int)Math.Min(buffer.Length, end);
            long start = end - chunk;
            file.Position = start;
            file.ReadExactly(buffer, 0, chunk);
            int last = buffer.AsSpan(0, chunk).LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
            {
                return start + last;
            }

            end = start;
        }

        return -1;
    }

    /// <summary>
    /// Copies a closed data directory. Zero blocks are left as holes: the 128 MiB hash-index checkpoint and prefilled
    /// segments are mostly zeros, and a sparse copy makes hundreds of copies cheap. Reads of a hole return zeros, so
    /// the server sees the same bytes.
    /// </summary>
    public static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        }

        var buffer = new byte[64 * 1024];
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var output = new FileStream(Path.Combine(target, Path.GetRelativePath(source, file)), FileMode.CreateNew, FileAccess.Write);
            while (true)
            {
                int read = input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (read == 0)
                {
                    break;
                }

                if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
                {
                    output.Write(buffer, 0, read);
                }
                else
                {
                    output.Seek(read, SeekOrigin.Current);
                }
            }

            output.SetLength(input.Length);
        }
    }

    /// <summary>Flips bit <paramref name="bit"/> of the byte at <paramref name="offset"/>; returns the byte before and after.</summary>
    public static (byte Before, byte After) FlipBit(string path, long offset, int bit)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int before = file.ReadByte();
        if (before < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{path} has no byte at {offset}");
        }

        byte after = (byte)(before ^ (1 << bit));
        file.Position = offset;
        file.WriteByte(after);
        file.Flush(flushToDisk: true);
        return ((byte)before, after);
    }

    /// <summary>
    /// Flips one bit a few bytes into the first occurrence of <paramref name="marker"/> in a stopped server's log; the
    /// marker must be in exactly one segment (the assertion fails otherwise).
    /// </summary>
    public static void FlipBitInside(string dataDirectory, ReadOnlySpan<byte> marker)
    {
        var pattern = marker.ToArray();
        var hits = LogSegments(dataDirectory)
            .Select(s => (s.File, At: Find(s.File.FullName, pattern)))
            .Where(s => s.At.Count > 0)
            .ToList();
        var (file, at) = Xunit.Assert.Single(hits);
        FlipBit(file.FullName, at[0] + 3, 0);
    }

    /// <summary>Every offset at which <paramref name="pattern"/> occurs in the file.</summary>
    public static List<long> Find(string path, ReadOnlySpan<byte> pattern)
    {
        var found = new List<long>();
        var bytes = File.ReadAllBytes(path);
        int from = 0;
        while (from < bytes.Length)
        {
            int at = bytes.AsSpan(from).IndexOf(pattern);
            if (at < 0)
            {
                break;
            }

            found.Add(from + at);
            from += at + 1;
        }

        return found;
    }

    [GeneratedRegex(@"^events\.log\.(\d+)$")]
    private static partial Regex SegmentName();
}
