using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>BACKUP at the store: consistent as of one commit while writes go on, incremental, and a usable data directory.</summary>
public sealed class BackupTests
{
    private static string NewTarget() => Path.Combine(Path.GetTempPath(), "efdb-tests", "backup-" + Guid.NewGuid().ToString("N"));

    private static async Task<List<string>> AllEventsAsync(FasterEventStore store)
    {
        var all = new List<string>();
        var page = new EventPage();
        var after = Ulid.Empty;
        while (true)
        {
            page.Clear();
            int n = await store.ReadAllAsync(after, 1000, page);
            if (n == 0)
            {
                return all;
            }

            all.AddRange(TestStore.Raw(page));
            after = Ulid.Parse(System.Text.Json.JsonDocument.Parse(all[^1]).RootElement.GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task A_backup_under_four_writers_is_a_prefix_of_the_log_with_the_checksum_the_store_had()
    {
        await using var t = await TestStore.CreateAsync();
        string target = NewTarget();
        using var stop = new CancellationTokenSource();
        long acknowledged = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                await t.AppendAsync($"w{w}-{i % 5}", ExpectedVersion.Any, TestStore.Event(messageId: $"w{w}-{i}", data: $"{{\"w\":{w},\"i\":{i}}}"));
                Interlocked.Increment(ref acknowledged);
            }
        })).ToList();

        while (Interlocked.Read(ref acknowledged) < 400)
        {
            await Task.Delay(10);
        }

        var result = await t.Store.BackupAsync(target);
        while (Interlocked.Read(ref acknowledged) < result.Events + 200)
        {
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(result.Events >= 400, $"{result.Events} events in the backup");
        Assert.True(result.BytesCopied > 0);
        var live = await AllEventsAsync(t.Store);
        Assert.True(live.Count > result.Events, "writes went on during the backup");

        var log = new LogCollector();
        await using var restored = await t.OpenOtherAsync(target, log);
        Assert.True(restored.LastRecovery.FromSnapshot, "the backup carries a snapshot and an index checkpoint");
        Assert.Equal(result.Events, restored.EventCount);
        Assert.Equal(result.Checksum, restored.Checksum);
        Assert.Equal(result.LastId, restored.Checksum.LastId);
        Assert.Equal(live.Take((int)result.Events).ToList(), await AllEventsAsync(restored));
        TestStore.TryDelete(target);
    }

    [Fact]
    public async Task A_second_backup_copies_only_what_changed_and_leaves_sealed_segments_alone()
    {
        // 128 KiB segments, so the log spans several.
        await using var t = await TestStore.CreateAsync(o => o with { LogSegmentSizeBits = 17 });
        string target = NewTarget();
        string payload = "{\"pad\":\"" + new string('x', 2000) + "\"}";
        for (int i = 0; i < 400; i++)
        {
            await t.AppendAsync($"s-{i % 9}", ExpectedVersion.Any, TestStore.Event(data: payload));
        }

        var first = await t.Store.BackupAsync(target);
        var sealedSegments = Directory.GetFiles(Path.Combine(target, "log"), "events.log.*").Order(StringComparer.Ordinal).SkipLast(1).ToList();
        Assert.True(sealedSegments.Count >= 4, $"{sealedSegments.Count} sealed segments");
        var writtenAt = sealedSegments.ToDictionary(f => f, File.GetLastWriteTimeUtc);
        long sealedBytes = sealedSegments.Sum(f => new FileInfo(f).Length);

        for (int i = 0; i < 10; i++)
        {
            await t.AppendAsync("later", ExpectedVersion.Any, TestStore.Event(data: payload));
        }

        var second = await t.Store.BackupAsync(target);
        Assert.Equal(first.Events + 10, second.Events);
        foreach (var (file, time) in writtenAt)
        {
            Assert.Equal(time, File.GetLastWriteTimeUtc(file));
        }

        // At most: what the first copied beside the sealed segments (index, snapshot, the open segment) again, plus the
        // segment that was open then and the one open now.
        long segmentSize = 1L << 17;
        string copied = $"second backup copied {second.BytesCopied} bytes, the first {first.BytesCopied} ({sealedBytes} in sealed segments)";
        Assert.True(second.BytesCopied <= first.BytesCopied - sealedBytes + (2 * segmentSize), copied);
        Assert.True(second.BytesCopied < sealedBytes, copied);

        var log = new LogCollector();
        await using var restored = await t.OpenOtherAsync(target, log);
        Assert.Equal(second.Checksum, restored.Checksum);
        Assert.Equal(await AllEventsAsync(t.Store), await AllEventsAsync(restored));
        TestStore.TryDelete(target);
    }

    [Fact]
    public async Task A_backup_of_an_empty_store_opens_empty()
    {
        await using var t = await TestStore.CreateAsync();
        string target = NewTarget();
        var result = await t.Store.BackupAsync(target);
        Assert.Equal(0, result.Events);
        Assert.Equal(Ulid.Empty, result.LastId);
        await using var restored = await t.OpenOtherAsync(target, new LogCollector());
        Assert.Equal(0, restored.EventCount);
        TestStore.TryDelete(target);
    }

    [Fact]
    public async Task A_target_inside_the_store_or_holding_other_files_or_another_stores_backup_is_refused()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(Path.Combine(t.Directory, "inside")));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(t.Directory));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(Path.GetDirectoryName(t.Directory)!));

        string foreign = NewTarget();
        Directory.CreateDirectory(foreign);
        await File.WriteAllTextAsync(Path.Combine(foreign, "notes.txt"), "mine");
        var refused = await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(foreign));
        Assert.Contains("notes.txt", refused.Message, StringComparison.Ordinal);
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(foreign, "notes.txt")));

        await using var other = await TestStore.CreateAsync();
        string target = NewTarget();
        await other.Store.BackupAsync(target);
        var another = await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(target));
        Assert.Contains("another store", another.Message, StringComparison.Ordinal);
        TestStore.TryDelete(foreign);
        TestStore.TryDelete(target);
    }

    [Fact]
    public async Task A_seed_backup_goes_only_inside_the_store_outside_what_a_backup_copies_keeps_the_callers_files_and_opens_as_the_store()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 20; i++)
        {
            await t.AppendAsync($"s-{i % 3}", ExpectedVersion.Any, TestStore.Event());
        }

        string seed = Path.Combine(t.Directory, "raft", "seed-out");
        Directory.CreateDirectory(seed);
        await File.WriteAllTextAsync(Path.Combine(seed, "consumer-groups.journal"), "kept");
        var first = await t.Store.BackupWithinAsync(seed);
        Assert.Equal(20, first.Events);
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(seed, "consumer-groups.journal")));
        Assert.False(Directory.Exists(Path.Combine(seed, "raft")));

        // A second one into the same directory (it holds the caller's file, which BACKUP would refuse) copies again.
        await t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event());
        var second = await t.Store.BackupWithinAsync(seed);
        Assert.Equal(21, second.Events);
        Assert.Equal(t.Store.Checksum, second.Checksum);

        // BACKUP still refuses it; the internal way refuses what is outside the store or inside what a backup copies.
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupAsync(seed));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupWithinAsync(NewTarget()));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupWithinAsync(t.Directory));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupWithinAsync(Path.Combine(t.Directory, "log", "seed")));
        await Assert.ThrowsAsync<IOException>(() => t.Store.BackupWithinAsync(Path.Combine(t.Directory, "index")));

        string copy = NewTarget();
        CopyDirectory(seed, copy);
        await using var restored = await t.OpenOtherAsync(copy, new LogCollector());
        Assert.Equal(21, restored.EventCount);
        Assert.Equal(second.Checksum, restored.Checksum);
        TestStore.TryDelete(copy);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
