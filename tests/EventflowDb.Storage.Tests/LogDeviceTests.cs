using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>The log's device: direct I/O where the file system takes it, FASTER's buffered device where it does not.</summary>
public sealed class LogDeviceTests
{
    private static async Task WriteAndCheckAsync(TestStore t)
    {
        // Enough to pass half of the first 1 MiB segment, so the next segment is prefilled, and to run into segment 1.
        var batch = Enumerable.Range(0, 10).Select(_ => TestStore.Event(data: $"\"{new string('y', 1000)}\"")).ToArray();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync($"s-{i % 3}", ExpectedVersion.Any, batch)).Status);
        }

        var checksum = t.Store.Checksum;
        Assert.True(File.Exists(t.LogSegment(1)), "the log never reached segment 1");
        await t.CrashAndReopenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(2000, (await t.ReadAllAsync(Ulid.Empty)).Count);
        Assert.Equal(670, (await t.ReadStreamAsync("s-0", 0, 10_000)).Count);
    }

    [Fact]
    public async Task A_store_on_the_temp_file_system_writes_and_recovers_through_its_device()
    {
        await using var t = await TestStore.CreateAsync();
        // The temp directory is on an ordinary Linux file system (ext4 here and in CI), which takes direct I/O.
        Assert.Equal(OperatingSystem.IsLinux(), t.Store.DirectIo);
        await WriteAndCheckAsync(t);
    }

    [Fact]
    public async Task With_direct_io_off_the_store_writes_through_the_page_cache()
    {
        await using var t = await TestStore.CreateAsync(o => o with { DirectIo = false });
        Assert.False(t.Store.DirectIo);
        await WriteAndCheckAsync(t);
    }

    [Fact]
    public void A_direct_zero_fill_writes_a_synced_file_of_zeros_or_declines()
    {
        string directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "zeros");
            File.WriteAllBytes(path, Enumerable.Repeat((byte)7, 5000).ToArray());
            bool direct = DirectZeroFill.TryWrite(path, 3 << 20, CancellationToken.None);
            Assert.Equal(OperatingSystem.IsLinux(), direct);
            if (direct)
            {
                var bytes = File.ReadAllBytes(path);
                Assert.Equal(3 << 20, bytes.Length);
                Assert.All(bytes, b => Assert.Equal(0, b));
            }

            // Lengths that are not whole pages are declined (the caller then writes through the page cache).
            Assert.False(DirectZeroFill.TryWrite(path, 1000, CancellationToken.None));
        }
        finally
        {
            TestStore.TryDelete(directory);
        }
    }

    [Fact]
    public async Task A_new_stores_first_segment_is_zero_filled_a_few_mib_ahead_of_its_writes_and_recovers()
    {
        // 32 MiB segments, as a server's: the first is not prefilled, so the device fills it ahead of the tail.
        await using var t = await TestStore.CreateAsync(o => o with { LogSegmentSizeBits = 25 });
        Assert.True(t.Store.DirectIo, "the temp directory takes direct I/O (see the first test)");
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("filled", ExpectedVersion.Any, TestStore.Event(data: $"{{\"n\":{i}}}"))).Status);
        }

        // The first write filled its chunk itself; the rest of the lead is filled in the background.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (new FileInfo(t.LogSegment(0)).Length < (4L << 20) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        long length = new FileInfo(t.LogSegment(0)).Length;
        Assert.InRange(length, 4L << 20, 6L << 20);
        var checksum = t.Store.Checksum;
        await t.CrashAndReopenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(20, (await t.ReadStreamAsync("filled")).Count);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("filled", ExpectedVersion.Exact(20), TestStore.Event())).Status);
        Assert.Equal(21, (await t.ReadStreamAsync("filled")).Count);
    }

    [Fact]
    public async Task Without_prefill_the_first_segment_grows_only_with_its_writes()
    {
        await using var t = await TestStore.CreateAsync(o => o with { LogSegmentSizeBits = 25, PrefillLogSegments = false });
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("grown", ExpectedVersion.Any, TestStore.Event())).Status);
        await Task.Delay(200);
        Assert.True(new FileInfo(t.LogSegment(0)).Length < (1L << 20), "the segment was filled although prefill is off");
    }
}
