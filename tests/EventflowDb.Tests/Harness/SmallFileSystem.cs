using System.Diagnostics;

namespace EventflowDb.Tests.Harness;

/// <summary>
/// A small file system of its own, mounted for one test (tmpfs; a loop-mounted ext4 image where tmpfs cannot be
/// mounted), so that a test can fill the disk for real. Needs root, as CI has; without it the test fails and says why.
/// </summary>
public sealed class SmallFileSystem : IAsyncDisposable
{
    private readonly string _image;

    private SmallFileSystem(string root, string path, string image, string kind)
    {
        Root = root;
        Path = path;
        _image = image;
        Kind = kind;
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>tmpfs or loop ext4.</summary>
    public string Kind { get; }

    private string Root { get; }

    /// <summary>Bytes free on the mounted file system.</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Mounts a file system of <paramref name="megabytes"/> MiB; fails the test with the reasons when neither kind can be mounted.</summary>
    public static async Task<SmallFileSystem> MountAsync(int megabytes)
    {
        string root = ServerProcess.NewTempDirectory();
        string path = System.IO.Path.Combine(root, "mnt");
        string image = System.IO.Path.Combine(root, "fs.img");
        Directory.CreateDirectory(path);
        var tmpfs = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        if (tmpfs.ExitCode == 0)
        {
            return new SmallFileSystem(root, path, image, "tmpfs");
        }

        var truncate = await RunAsync("truncate", "-s", $"{megabytes}M", image);
        var mkfs = truncate.ExitCode == 0 ? await RunAsync("mkfs.ext4", "-q", "-F", image) : truncate;
        var loop = mkfs.ExitCode == 0 ? await RunAsync("mount", "-o", "loop", image, path) : mkfs;
        if (loop.ExitCode == 0)
        {
            return new SmallFileSystem(root, path, image, "loop ext4");
        }

        ServerProcess.TryDeleteDirectory(root);
        throw new Xunit.Sdk.XunitException(
            "This test fills a small file system of its own and must run as root (CI does): "
            + $"mount -t tmpfs failed ({tmpfs.Output.Trim()}), a loop-mounted ext4 image failed too ({loop.Output.Trim()}).");
    }

    /// <summary>Fills the file system with a ballast file until <paramref name="leaveFree"/> bytes are left; returns its path.</summary>
    public string FillLeaving(long leaveFree)
    {
        string ballast = System.IO.Path.Combine(Path, "ballast");
        long size = FreeBytes - leaveFree;
        using var stream = new FileStream(ballast, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
        var zeros = new byte[1 << 20];
        for (long written = 0; written < size; written += zeros.Length)
        {
            stream.Write(zeros, 0, (int)Math.Min(zeros.Length, size - written));
        }

        stream.Flush(flushToDisk: true);
        return ballast;
    }

    public async ValueTask DisposeAsync()
    {
        var result = await RunAsync("umount", Path);
        if (result.ExitCode != 0)
        {
            // Something still holds it open: detach it lazily rather than leave a mount behind.
            await RunAsync("umount", "-l", Path);
        }

        File.Delete(_image);
        ServerProcess.TryDeleteDirectory(Root);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{program}: {e.Message}");
        }
    }
}
