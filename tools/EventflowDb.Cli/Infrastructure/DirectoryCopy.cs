namespace EventflowDb.Cli.Infrastructure;

/// <summary>Copies a directory tree durably (every file and directory fsynced), with progress over the bytes.</summary>
public static class DirectoryCopy
{
    /// <summary>The files under <paramref name="source"/> (relative paths) but those <paramref name="skip"/> names.</summary>
    public static List<(string Relative, long Length)> Files(string source, Func<string, bool> skip)
    {
        ArgumentNullException.ThrowIfNull(skip);
        return [.. new DirectoryInfo(source).EnumerateFiles("*", SearchOption.AllDirectories)
            .Select(f => (Relative: Path.GetRelativePath(source, f.FullName), f.Length))
            .Where(f => !skip(f.Relative))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)];
    }

    /// <summary>Copies <paramref name="files"/> from <paramref name="source"/> into <paramref name="target"/> (created).</summary>
    public static void Copy(string source, string target, IReadOnlyList<(string Relative, long Length)> files, IProgressSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(sink);
        var buffer = new byte[1 << 20];
        long done = 0;
        var directories = new HashSet<string>(StringComparer.Ordinal) { target };
        Directory.CreateDirectory(target);
        foreach (var (relative, _) in files)
        {
            string to = Path.Combine(target, relative);
            string parent = Path.GetDirectoryName(to)!;
            Directory.CreateDirectory(parent);
            directories.Add(parent);
            using (var input = new FileStream(Path.Combine(source, relative), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
            using (var output = new FileStream(to, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                int read;
                while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    output.Write(buffer, 0, read);
                    done += read;
                    sink.Report(done);
                }

                output.Flush(flushToDisk: true);
            }

            File.SetLastWriteTimeUtc(to, File.GetLastWriteTimeUtc(Path.Combine(source, relative)));
        }

        foreach (string directory in directories.OrderByDescending(d => d.Length))
        {
            SyncDirectory(directory);
        }
    }

    /// <summary>Makes a directory's entries durable (Linux; a no-op elsewhere).</summary>
    public static void SyncDirectory(string directory) => EventflowDb.Storage.AtomicFile.SyncDirectory(directory);
}
