using System.Text;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// Compaction (COMPACT): after FORGET it removes every byte of the forgotten data and metadata from the data directory
/// while CHECKSUM, reads, ids, message ids and the offline verification stay what they were; it is crash-safe (its journal
/// is applied again at open) and idempotent.
/// </summary>
public sealed class CompactionTests
{
    private const string Marker = "Zq7MARKERx9Personal";

    private static void Done(LifecycleResult result) => Assert.Equal(LifecycleStatus.Done, result.Status);

    /// <summary>A forgotten stream whose data, metadata and snapshots carry <see cref="Marker"/>, among other streams. The last
    /// of them lie in the log's tail page, which a compaction seals with a padding record first.</summary>
    private static async Task WriteForgottenAsync(TestStore t)
    {
        for (int i = 0; i < 20; i++)
        {
            await t.AppendAsync("other-" + (i % 3), ExpectedVersion.Any, TestStore.Event(data: $"{{\"n\":{i}}}"));
            await t.AppendAsync(
                "person-1",
                ExpectedVersion.Any,
                TestStore.Event(type: "Named", data: $"{{\"name\":\"{Marker}-{i}\"}}", messageId: "m-" + i, metadata: $"{{\"ip\":\"{Marker}\"}}"),
                TestStore.Event(type: "Tiny", data: "1"),
                TestStore.Event(type: "Text", data: $"\"{Marker}\""));
        }

        Done(await t.Store.SaveSnapshotAsync("person-1", 10, Encoding.UTF8.GetBytes($"{{\"state\":\"{Marker}\"}}")));
        Done(await t.Store.SaveSnapshotAsync("person-1", 20, Encoding.UTF8.GetBytes($"{{\"state\":\"{Marker}2\"}}")));
        Done(await t.Store.ForgetStreamAsync("person-1"));
    }

    /// <summary>Appends about <paramref name="pages"/> log pages of unrelated events.</summary>
    private static async Task FillAsync(TestStore t, int pages)
    {
        string data = "\"" + new string('f', 2000) + "\"";
        for (int i = 0; i < pages * DamageTests.PageSize / 2000; i++)
        {
            await t.AppendAsync("filler", ExpectedVersion.Any, TestStore.Event(data: data));
        }
    }

    private static List<string> FilesHolding(string directory, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)
            .ToList();
    }

    private static async Task<Reads> ReadEverythingAsync(TestStore t)
    {
        var all = (await t.ReadAllAsync(Ulid.Empty)).Select(e => e.GetRawText()).ToList();
        var stream = (await t.ReadStreamAsync("person-1")).Select(e => e.GetRawText()).ToList();
        return new Reads(all, stream);
    }

    private static void SameReads(Reads expected, Reads actual)
    {
        Assert.Equal(expected.All, actual.All);
        Assert.Equal(expected.Stream, actual.Stream);
    }

    private sealed record Reads(List<string> All, List<string> Stream);

    [Fact]
    public async Task Forget_then_compact_leaves_no_byte_of_the_forgotten_data_and_keeps_checksum_reads_and_verification()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteForgottenAsync(t);
        var checksum = t.Store.Checksum;
        var reads = await ReadEverythingAsync(t);
        Assert.Equal(60, reads.Stream.Count);
        Assert.All(reads.Stream, e => Assert.Contains("\"forgotten\":true", e, StringComparison.Ordinal));
        await t.Store.CheckpointAsync();
        Assert.NotEmpty(FilesHolding(t.Directory, Marker));

        long end = t.Store.AppliedEnd;
        Assert.True(end < DamageTests.PageSize, "the forgotten events should lie in the tail page");
        var result = await t.Store.CompactAsync();

        Assert.Equal(DamageTests.PageSize, t.Store.AppliedEnd); // sealed by a padding record to the end of the page
        Assert.Equal(60, result.ScrubbedEvents);
        Assert.Equal(2, result.ScrubbedSnapshots);
        Assert.True(result.BytesBefore > 0 && result.BytesAfter > 0);
        Assert.Equal(checksum, t.Store.Checksum);
        SameReads(reads, await ReadEverythingAsync(t));
        Assert.Empty(FilesHolding(t.Directory, Marker));

        // Still a duplicate: the message ids of forgotten events stay in their records.
        var again = await t.AppendAsync("person-1", ExpectedVersion.Any, TestStore.Event(type: "Named", data: "{}", messageId: "m-3"));
        Assert.Equal(AppendStatus.Duplicate, again.Status);

        // A second compaction finds nothing left to scrub.
        Assert.Equal(0, (await t.Store.CompactAsync()).ScrubbedEvents);

        await t.Store.DisposeAsync();
        Assert.Empty(FilesHolding(t.Directory, Marker));
        var offline = OfflineLog.Scan(t.Directory, null, new OfflineScanOptions { LogPageSizeBits = 16 });
        Assert.Null(offline.Damage);
        Assert.Null(offline.TornTail);
        Assert.Equal(checksum.Value, offline.Checksum);
        Assert.Equal(checksum.LastId, offline.LastId);

        var exported = new List<string>();
        OfflineLog.Scan(t.Directory, e => exported.Add(Encoding.UTF8.GetString(e.Json)), new OfflineScanOptions { LogPageSizeBits = 16 });
        Assert.Equal(reads.All, exported);

        await t.OpenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
        SameReads(reads, await ReadEverythingAsync(t));
    }

    [Fact]
    public async Task A_store_replayed_from_the_start_after_compaction_has_the_same_checksum()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteForgottenAsync(t);
        await FillAsync(t, 2); // the forgotten events in sealed pages: no padding needed
        var checksum = t.Store.Checksum;
        var reads = await ReadEverythingAsync(t);
        long end = t.Store.AppliedEnd;
        Assert.Equal(60, (await t.Store.CompactAsync()).ScrubbedEvents);
        Assert.Equal(end, t.Store.AppliedEnd);
        await t.Store.DisposeAsync();

        // No snapshot.bin: the whole log is replayed, the chain taken over the scrubbed events' kept values.
        File.Delete(Path.Combine(t.Directory, "snapshot.bin"));
        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(checksum, t.Store.Checksum);
        SameReads(reads, await ReadEverythingAsync(t));
    }

    [Fact]
    public async Task A_compaction_stopped_after_its_journal_is_finished_at_the_next_open()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteForgottenAsync(t);
        var checksum = t.Store.Checksum;
        var reads = await ReadEverythingAsync(t);

        // As a crash in the middle of rewriting: half of the first record written, the rest not at all.
        t.Store.CompactionFault = patches =>
        {
            var first = patches[0];
            using (var file = new FileStream(t.LogSegment(0), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                RandomAccess.Write(file.SafeFileHandle, first.Bytes.AsSpan(0, first.Bytes.Length / 2), first.Address);
            }

            throw new IOException("simulated crash");
        };
        await Assert.ThrowsAsync<IOException>(() => t.Store.CompactAsync());
        t.Store.CompactionFault = null;
        Assert.True(File.Exists(Path.Combine(t.Directory, "compaction.journal")));
        await t.CrashAsync();

        // efdb verify reads the journal as the next open applies it: the torn record is not damage.
        var offline = OfflineLog.Scan(t.Directory, null, new OfflineScanOptions { LogPageSizeBits = 16 });
        Assert.Null(offline.Damage);
        Assert.Equal(checksum.Value, offline.Checksum);
        Assert.True(File.Exists(Path.Combine(t.Directory, "compaction.journal")));

        await t.OpenAsync();
        Assert.False(File.Exists(Path.Combine(t.Directory, "compaction.journal")));
        Assert.Contains(t.Log.Messages(Serilog.Events.LogEventLevel.Warning), m => m.Contains("applied again", StringComparison.Ordinal));
        Assert.Equal(checksum, t.Store.Checksum);
        SameReads(reads, await ReadEverythingAsync(t));

        // The journal's batch is done; the next compaction finishes what the batch did not hold.
        await t.Store.CompactAsync();
        await t.Store.DisposeAsync();
        Assert.Empty(FilesHolding(t.Directory, Marker));
        Assert.Null(OfflineLog.Scan(t.Directory, null, new OfflineScanOptions { LogPageSizeBits = 16 }).Damage);
        await t.OpenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
    }

    [Fact]
    public async Task Reads_and_appends_go_on_while_compactions_run()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteForgottenAsync(t);
        var reads = await ReadEverythingAsync(t);
        using var stop = new CancellationTokenSource();
        var rounds = new int[2];
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var stream = (await t.ReadStreamAsync("person-1")).Select(e => e.GetRawText()).ToList();
                Assert.Equal(reads.Stream, stream);
                var all = (await t.ReadAllAsync(Ulid.Empty)).Select(e => e.GetRawText()).Take(reads.All.Count).ToList();
                Assert.Equal(reads.All, all);
                Interlocked.Increment(ref rounds[r]);
            }
        })).ToList();
        var writer = Task.Run(async () =>
        {
            int written = 0;
            while (!stop.IsCancellationRequested)
            {
                await t.AppendAsync("live", ExpectedVersion.Any, TestStore.Event(data: $"{{\"w\":{written}}}"));
                written++;
            }

            return written;
        });

        for (int i = 0; i < 3 || Volatile.Read(ref rounds[0]) < 5 || Volatile.Read(ref rounds[1]) < 5; i++)
        {
            await t.Store.CompactAsync();
            Assert.DoesNotContain(readers, r => r.IsFaulted);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        int live = await writer;
        Assert.Equal(live, (await t.ReadStreamAsync("live", 0, 100_000)).Count);
        Assert.Empty(FilesHolding(Path.Combine(t.Directory, "log"), Marker));
    }

    [Fact]
    public async Task Deleted_truncated_and_expired_events_give_their_blocks_back_and_reads_message_ids_and_checksum_stay()
    {
        await using var t = await TestStore.CreateAsync();
        string big = "\"" + new string('d', 20_000) + "\"";
        for (int i = 0; i < 12; i++)
        {
            await t.AppendAsync("trunc", ExpectedVersion.Any, TestStore.Event(data: big, messageId: "t-" + i));
            await t.AppendAsync("gone", ExpectedVersion.Any, TestStore.Event(data: big));
            await t.AppendAsync("capped", ExpectedVersion.Any, TestStore.Event(data: big));
            await t.AppendAsync("kept", ExpectedVersion.Any, TestStore.Event(data: big));
        }

        Done(await t.Store.TruncateStreamAsync("trunc", 10));
        Done(await t.Store.DeleteStreamAsync("gone", null));
        Done(await t.Store.SetStreamMetadataAsync("capped", 2, null));
        await FillAsync(t, 2); // everything above in sealed pages
        var checksum = t.Store.Checksum;
        var all = (await t.ReadAllAsync(Ulid.Empty)).Select(e => e.GetRawText()).ToList();
        var streams = new Dictionary<string, List<string>>();
        foreach (string s in new[] { "trunc", "gone", "capped", "kept" })
        {
            streams[s] = (await t.ReadStreamAsync(s)).Select(e => e.GetRawText()).ToList();
        }

        long before = DiskUsage.Allocated(t.Directory);
        var result = await t.Store.CompactAsync();

        Assert.Equal(10 + 12 + 10, result.ReclaimedEvents);
        long reclaimed = before - DiskUsage.Allocated(t.Directory);
        // Each 20,000-byte data area becomes zeros, of which the whole 4 KiB blocks (about 3 each) are punched out.
        Assert.True(reclaimed is >= 80 * 4096 and <= 32 * 20_000, $"{reclaimed} bytes reclaimed for 32 events of 20,000 bytes");
        Assert.Equal(reclaimed, result.BytesBefore - result.BytesAfter);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(all, (await t.ReadAllAsync(Ulid.Empty)).Select(e => e.GetRawText()).ToList());
        foreach (var (s, events) in streams)
        {
            Assert.Equal(events, (await t.ReadStreamAsync(s)).Select(e => e.GetRawText()).ToList());
        }

        // A truncated and compacted event's message id is still known: the retry is a duplicate, answered without its data.
        var again = await t.AppendAsync("trunc", ExpectedVersion.Any, TestStore.Event(data: "{}", messageId: "t-4"));
        Assert.Equal(AppendStatus.Duplicate, again.Status);
        Assert.Contains("\"data\":null", Encoding.UTF8.GetString(again.Events[0].Span), StringComparison.Ordinal);

        // Written again, the deleted stream continues its versions.
        var next = await t.AppendAsync("gone", ExpectedVersion.Any, TestStore.Event());
        Assert.Equal(AppendStatus.Appended, next.Status);
        Assert.Equal(12, Assert.Single(await t.ReadStreamAsync("gone")).GetProperty("version").GetInt64());

        await t.Store.DisposeAsync();
        var offline = OfflineLog.Scan(t.Directory, null, new OfflineScanOptions { LogPageSizeBits = 16 });
        Assert.Null(offline.Damage);
        await t.OpenAsync();
        Assert.Equal(streams["kept"], (await t.ReadStreamAsync("kept")).Select(e => e.GetRawText()).ToList());
    }
    [Fact]
    public async Task A_backup_made_again_into_the_same_directory_after_forget_and_compact_holds_no_forgotten_byte()
    {
        // 128 KiB segments: the forgotten events lie in segment 0, sealed (and so skipped by an incremental backup) before the first backup.
        await using var t = await TestStore.CreateAsync(o => o with { LogSegmentSizeBits = 17 });
        string target = Path.Combine(Path.GetTempPath(), "efdb-tests", "backup-" + Guid.NewGuid().ToString("N"));
        for (int i = 0; i < 20; i++)
        {
            await t.AppendAsync("person-1", ExpectedVersion.Any, TestStore.Event(data: $"{{\"name\":\"{Marker}-{i}\"}}", metadata: $"{{\"ip\":\"{Marker}\"}}"));
        }

        await FillAsync(t, 3);
        Assert.True(t.Store.AppliedEnd > 2 * DamageTests.PageSize, "segment 0 should be sealed");
        await t.Store.BackupAsync(target);
        Assert.NotEmpty(FilesHolding(target, Marker));

        Done(await t.Store.ForgetStreamAsync("person-1"));
        Assert.Equal(20, (await t.Store.CompactAsync()).ScrubbedEvents);
        var second = await t.Store.BackupAsync(target);
        Assert.Empty(FilesHolding(target, Marker));

        // Unchanged since: the next backup copies no sealed segment again.
        var third = await t.Store.BackupAsync(target);
        Assert.True(third.BytesCopied < second.BytesCopied, $"third backup copied {third.BytesCopied} bytes, the second {second.BytesCopied}");

        var offline = OfflineLog.Scan(target, null, new OfflineScanOptions { LogPageSizeBits = 16 });
        Assert.Null(offline.Damage);
        Assert.Equal(second.Checksum.Value, offline.Checksum);
        var expected = (await ReadEverythingAsync(t)).Stream;
        await using (var restored = await t.OpenOtherAsync(target, new LogCollector()))
        {
            Assert.Equal(second.Checksum, restored.Checksum);
            var page = new EventPage();
            await restored.ReadStreamAsync(Encoding.UTF8.GetBytes("person-1"), 0, 1000, page);
            Assert.Equal(expected, TestStore.Raw(page));
        }

        Assert.Empty(FilesHolding(target, Marker));
        TestStore.TryDelete(target);
    }
    [Fact]
    public async Task A_snapshot_blanked_by_a_compaction_while_it_is_read_reads_as_the_current_snapshot_or_none()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("person-1", ExpectedVersion.Any, TestStore.Event(data: $"{{\"name\":\"{Marker}\"}}"), TestStore.Event(data: "2"));
        Done(await t.Store.SaveSnapshotAsync("person-1", 1, Encoding.UTF8.GetBytes($"{{\"state\":\"{Marker}\"}}")));

        // FORGET and COMPACT after the read took the snapshot's address: none is left.
        t.Store.BeforeSnapshotRead = () =>
        {
            t.Store.BeforeSnapshotRead = null;
            Done(t.Store.ForgetStreamAsync("person-1").GetAwaiter().GetResult());
            Assert.Equal(1, t.Store.CompactAsync().GetAwaiter().GetResult().ScrubbedSnapshots);
        };
        Assert.Null(t.Store.ReadSnapshot("person-1"));

        // Of a forgotten stream: SNAPSHOT SAVE and COMPACT after the read took the address: the newer snapshot is read.
        await t.AppendAsync("person-1", ExpectedVersion.Any, TestStore.Event(data: "3"), TestStore.Event(data: "4"));
        Done(await t.Store.SaveSnapshotAsync("person-1", 2, Encoding.UTF8.GetBytes("{\"state\":\"old\"}")));
        t.Store.BeforeSnapshotRead = () =>
        {
            t.Store.BeforeSnapshotRead = null;
            Done(t.Store.SaveSnapshotAsync("person-1", 3, Encoding.UTF8.GetBytes("{\"state\":\"new\"}")).GetAwaiter().GetResult());
            Assert.Equal(1, t.Store.CompactAsync().GetAwaiter().GetResult().ScrubbedSnapshots);
        };
        var snapshot = t.Store.ReadSnapshot("person-1");
        Assert.NotNull(snapshot);
        Assert.Equal("{\"state\":\"new\"}", Encoding.UTF8.GetString(snapshot.Data.Span));
        Assert.Equal(3, snapshot.Version);
    }
    [Fact]
    public async Task A_compaction_runs_off_the_thread_pool_while_stream_reads_go_on()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteForgottenAsync(t);
        await FillAsync(t, 2);
        bool? onPool = null;
        var reads = new List<Task<List<System.Text.Json.JsonElement>>>();
        t.Store.CompactionFault = _ =>
        {
            onPool = Thread.CurrentThread.IsThreadPoolThread;
            if (reads.Count > 0)
            {
                return;
            }

            // Reads racing the batch's writes into the files: each sees the events wholly before or after.
            for (int i = 0; i < 4; i++)
            {
                reads.Add(Task.Run(() => t.ReadStreamAsync("person-1")));
            }
        };
        Assert.Equal(60, (await t.Store.CompactAsync()).ScrubbedEvents);
        Assert.False(onPool, "the compaction ran on a thread-pool thread");
        foreach (var read in reads)
        {
            var events = await read;
            Assert.Equal(60, events.Count);
            Assert.All(events, e => Assert.Contains("\"forgotten\":true", e.GetRawText(), StringComparison.Ordinal));
        }
    }
}
