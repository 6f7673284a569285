namespace EventflowDb.Storage;

/// <summary>Replaces a file so that a crash leaves either the old or the new version: temp file, fsync, rename, fsync of the directory.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string temp = path + ".tmp";
        try
        {
            using var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            // A failed write (disk full) leaves the old file in place; the partial one would only hold on to space.
            File.Delete(temp);
            throw;
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Makes a rename or a new file in <paramref name="directory"/> durable (Linux; a no-op elsewhere); failures throw <see cref="IOException"/>.</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsLinux())
        {
            LinuxFile.SyncDirectory(directory);
        }
    }
}
