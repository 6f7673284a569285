using System.Runtime.InteropServices;
using EventflowDb.Storage;
using FASTER.core;

namespace EventflowDb.Storage.Tests;

/// <summary>The file steps a crash or an error must not turn into lost data: no-replace renames, directory syncs, segment opens.</summary>
public sealed class FileSafetyTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));

    public FileSafetyTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => TestStore.TryDelete(_directory);

    [Fact]
    public void A_no_replace_rename_never_overwrites_an_existing_file()
    {
        string source = Path.Combine(_directory, "zeros");
        string target = Path.Combine(_directory, "log.1");
        File.WriteAllBytes(source, new byte[4096]);
        File.WriteAllBytes(target, [1, 2, 3]);

        Assert.False(LinuxFile.RenameNoReplace(source, target));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
        Assert.True(File.Exists(source));

        File.Delete(target);
        Assert.True(LinuxFile.RenameNoReplace(source, target));
        Assert.Equal(4096, new FileInfo(target).Length);
        Assert.False(File.Exists(source));
    }

    [Fact]
    public void A_directory_sync_that_cannot_open_the_directory_throws()
    {
        LinuxFile.SyncDirectory(_directory);
        Assert.Throws<IOException>(() => LinuxFile.SyncDirectory(Path.Combine(_directory, "missing")));
        string file = Path.Combine(_directory, "file");
        File.WriteAllText(file, "x");
        Assert.Throws<IOException>(() => LinuxFile.SyncDirectory(file));
    }

    [Fact]
    public async Task A_segment_that_failed_to_open_is_opened_again_by_the_next_write()
    {
        string basePath = Path.Combine(_directory, "log");
        using var device = DirectLogDevice.Create(basePath, enabled: true, out bool direct);
        Assert.True(direct, "the temp file system takes direct I/O here and in CI");

        // A directory where segment 0 belongs makes its open fail.
        string segment = LogFileReader.SegmentPath(basePath, 0);
        Directory.CreateDirectory(segment);
        Assert.NotEqual(0u, await WriteAsync(device, 0));

        Directory.Delete(segment);
        Assert.Equal(0u, await WriteAsync(device, 0));
        Assert.Equal(4096, new FileInfo(segment).Length);
    }

    private static unsafe Task<uint> WriteAsync(IDevice device, int segment)
    {
        var done = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
        void* buffer = NativeMemory.AlignedAlloc(4096, 4096);
        NativeMemory.Fill(buffer, 4096, 5);
        device.WriteAsync((IntPtr)buffer, segment, 0, 4096, (error, _, _) =>
        {
            NativeMemory.AlignedFree(buffer);
            done.SetResult(error);
        }, null!);
        return done.Task;
    }
}
