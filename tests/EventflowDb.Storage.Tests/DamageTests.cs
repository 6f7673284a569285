using EventflowDb.Storage;
using NUlid;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// Damage that is not a torn tail (SPEC.md, "Storage integrity"): the store refuses to open and names the file and
/// offset, and changes nothing; <see cref="StoreOptions.Repair"/> copies the damaged files aside, cuts and counts the loss.
/// </summary>
public sealed class DamageTests
{
    /// <summary>The log page size of <see cref="TestStore"/> stores.</summary>
    internal const int PageSize = 1 << 16;

    /// <summary>Entries of one event each, about 1 KiB, over several pages (and segments for larger counts), in 5 streams.</summary>
    internal static async Task<TestStore> WriteAsync(int entries)
    {
        var t = await TestStore.CreateAsync();
        string pad = new('d', 1000);
        for (int i = 0; i < entries; i++)
        {
            var result = await t.AppendAsync($"s-{i % 5}", ExpectedVersion.Any, TestStore.Event(data: $"{{\"i\":{i},\"pad\":\"{pad}\"}}", messageId: $"m-{i}"));
            Assert.Equal(AppendStatus.Appended, result.Status);
        }

        return t;
    }

    /// <summary>Flips one bit of the byte at <paramref name="offset"/>.</summary>
    internal static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x10));
    }

    private static async Task<StoreDamagedException> AssertRefusedAsync(TestStore t, string file, string reason)
    {
        var before = Snapshot(t.Directory);
        var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
        Assert.Equal(file, refused.Path);
        Assert.Contains(reason, refused.Reason, StringComparison.Ordinal);
        Assert.Contains(t.Log.Messages(LogEventLevel.Error), m => m.Contains(file, StringComparison.Ordinal) && m.Contains($"offset {refused.Offset}", StringComparison.Ordinal));
        Assert.Equal(before, Snapshot(t.Directory));
        return refused;
    }

    /// <summary>
    /// The log, the snapshot and store.meta with their bytes, to show a refused open changed none of them (the event
    /// index is derived data: replay may have written to its files before the damage was found).
    /// </summary>
    private static Dictionary<string, string> Snapshot(string directory)
        => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(directory, "index"), StringComparison.Ordinal))
            .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    private static async Task AssertReadsAsync(TestStore t, long expected)
    {
        var all = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(expected, all.Count);
        Assert.Equal(Enumerable.Range(0, (int)expected).Select(i => (long)i), all.Select(e => e.GetProperty("position").GetInt64()));
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("after", ExpectedVersion.Any, TestStore.Event())).Status);
        await t.ReopenAsync();
        Assert.Equal(expected + 1, t.Store.EventCount);
    }

    [Fact]
    public async Task A_damaged_entry_inside_the_checkpointed_log_refuses_to_open_and_repair_cuts_there()
    {
        await using var t = await WriteAsync(300);
        await t.Store.DisposeAsync();

        // Page 2 of 5: the snapshot covers it, so it was acknowledged and checkpointed.
        FlipByte(t.LogSegment(), (2 * PageSize) + 5000);
        var refused = await AssertRefusedAsync(t, t.LogSegment(), "inside the log a checkpoint covers");
        Assert.InRange(refused.Offset, 2 * PageSize, (2 * PageSize) + 5000);

        await t.OpenAsync(repair: true);
        var report = t.Store.LastRecovery;
        long kept = t.Store.EventCount;
        Assert.InRange(kept, 50, 200);
        Assert.Equal(300 - kept, report.EventsLostByRepair);
        Assert.Contains(t.Log.Messages(LogEventLevel.Error), m => m.Contains($"{300 - kept} events", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(report.DamagedFilesDirectory!, "events.log.0")));
        Assert.True(File.Exists(Path.Combine(report.DamagedFilesDirectory!, "snapshot.bin")), "the snapshot covering the cut part is kept aside");
        await AssertReadsAsync(t, kept);
    }

    [Fact]
    public async Task A_bad_entry_followed_by_valid_ones_after_the_checkpoint_refuses_to_open()
    {
        await using var t = await WriteAsync(20);
        await t.Store.CheckpointAsync();
        long checkpointed = t.Store.AppliedEnd;
        for (int i = 0; i < 200; i++)
        {
            await t.AppendAsync("late", ExpectedVersion.Any, TestStore.Event(data: $"{{\"late\":\"{new string('l', 1000)}\"}}"));
        }

        // Replay reads what follows the checkpoint: a bad entry there with valid ones after it is not a torn write.
        await t.CrashAsync();
        FlipByte(t.LogSegment(), checkpointed + (2 * PageSize));
        await AssertRefusedAsync(t, t.LogSegment(), "follows at address");

        await t.OpenAsync(repair: true);
        Assert.True(t.Store.LastRecovery.EventsLostByRepair > 50);
        await AssertReadsAsync(t, t.Store.EventCount);
    }

    [Fact]
    public async Task A_missing_segment_file_refuses_to_open()
    {
        await using var t = await WriteAsync(2600);
        Assert.True(File.Exists(t.LogSegment(2)), "the log never reached segment 2");
        await t.Store.DisposeAsync();

        File.Delete(t.LogSegment(1));
        await AssertRefusedAsync(t, t.LogSegment(1), "segment file 1 is missing");
    }

    [Fact]
    public async Task A_zeroed_page_inside_the_checkpointed_log_refuses_to_open()
    {
        await using var t = await WriteAsync(300);
        await t.Store.DisposeAsync();
        using (var file = new FileStream(t.LogSegment(), FileMode.Open, FileAccess.Write))
        {
            file.Position = PageSize;
            file.Write(new byte[PageSize]);
        }

        await AssertRefusedAsync(t, t.LogSegment(), "zeros inside the log a checkpoint covers");
    }

    [Fact]
    public async Task A_damaged_store_meta_refuses_to_open_and_repair_infers_the_segment_size()
    {
        await using var t = await WriteAsync(2600);
        Assert.True(File.Exists(t.LogSegment(2)), "the log never reached segment 2");
        long events = t.Store.EventCount;
        await t.Store.DisposeAsync();
        string meta = Path.Combine(t.Directory, "store.meta");
        FlipByte(meta, 9);

        await AssertRefusedAsync(t, meta, "store.meta is damaged");

        // Configured with other segments than the store's 1 MiB ones: the segment files tell the size.
        var repairing = new TestStore.Configured(t.Directory, o => o with { LogSegmentSizeBits = 22, Repair = true });
        await using (var store = await repairing.OpenAsync())
        {
            Assert.Equal(events, store.EventCount);
            Assert.Equal(0, store.LastRecovery.EventsLostByRepair);
        }

        await t.OpenAsync();
        Assert.Equal(events, t.Store.EventCount);
        await AssertReadsAsync(t, events);
    }
}
