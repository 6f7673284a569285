using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

/// <summary>Control records (DELETE, TRUNCATE, STREAMMETA, SNAPSHOT, FORGET) in the log: replay, checkpoint, damage, old formats.</summary>
public sealed class LifecycleStoreTests
{
    private static async Task WriteAsync(TestStore t, string stream, int events)
    {
        for (int i = 0; i < events; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync(stream, ExpectedVersion.Any, TestStore.Event(data: $"{{\"i\":{i}}}"))).Status);
        }
    }

    private static void Done(LifecycleResult result) => Assert.Equal(LifecycleStatus.Done, result.Status);

    [Fact]
    public async Task Control_records_are_replayed_after_a_crash_and_checkpointed_by_a_clean_close()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "a", 3);
        await WriteAsync(t, "b", 3);
        var checksum = t.Store.Checksum;
        Done(await t.Store.DeleteStreamAsync("a", 3));
        Done(await t.Store.TruncateStreamAsync("b", 1));
        Done(await t.Store.SetStreamMetadataAsync("b", 5, 60_000));
        Done(await t.Store.SaveSnapshotAsync("b", 2, Encoding.UTF8.GetBytes("{\"s\":2}")));
        Assert.Equal(LifecycleStatus.WrongVersionConflict, (await t.Store.DeleteStreamAsync("b", 0)).Status);
        Assert.Equal(LifecycleStatus.BeyondStream, (await t.Store.TruncateStreamAsync("b", 4)).Status);
        Assert.Equal(LifecycleStatus.NoStream, (await t.Store.ForgetStreamAsync("c")).Status);

        async Task AssertStateAsync()
        {
            Assert.Equal(checksum, t.Store.Checksum);
            Assert.Equal(2, t.Store.EventCount);
            Assert.Equal(1, t.Store.StreamCount);
            Assert.Empty(await t.ReadStreamAsync("a"));
            Assert.Equal([1L, 2L], (await t.ReadStreamAsync("b")).Select(e => e.GetProperty("version").GetInt64()));
            Assert.Equal(new StreamMetadata("b", 5, 60_000, 1, false, 0, 3), t.Store.GetStreamMetadata("b"));
            Assert.True(t.Store.GetStreamMetadata("a")!.Deleted);
            var snapshot = t.Store.ReadSnapshot("b")!;
            Assert.Equal((2L, "{\"s\":2}"), (snapshot.Version, Encoding.UTF8.GetString(snapshot.Data.Span)));
        }

        await AssertStateAsync();
        await t.CrashAndReopenAsync();
        Assert.True(t.Store.LastRecovery.ReplayedEntries >= 4);
        await AssertStateAsync();
        await t.ReopenAsync();
        Assert.Equal(0, t.Store.LastRecovery.ReplayedEntries);
        await AssertStateAsync();

        // Writing continues after the control records: positions and versions as if they were not there.
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("a", ExpectedVersion.Exact(3), TestStore.Event())).Status);
        Assert.Equal(3, (await t.ReadStreamAsync("a")).Single().GetProperty("version").GetInt64());
        Assert.Equal(6, (await t.ReadAllAsync(NUlid.Ulid.Empty)).Last().GetProperty("position").GetInt64());
    }

    [Fact]
    public async Task A_read_of_a_maxAge_stream_skips_the_expired_entries_without_reading_each()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "m", 200);
        await Task.Delay(1500);
        await WriteAsync(t, "m", 3);
        Done(await t.Store.SetStreamMetadataAsync("m", 0, 1000));

        long before = t.StreamEntryReads;
        Assert.Equal([200L, 201L, 202L], (await t.ReadStreamAsync("m")).Select(e => e.GetProperty("version").GetInt64()));

        // A binary search over the version index (about log2(203) entry headers) and the three entries read.
        Assert.InRange(t.StreamEntryReads - before, 3, 20);
        Assert.Equal([201L, 202L], (await t.ReadStreamAsync("m", from: 201)).Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal([200L], (await t.ReadStreamAsync("m", limit: 1)).Select(e => e.GetProperty("version").GetInt64()));
    }

    [Fact]
    public async Task A_stream_written_after_DELETE_and_then_truncated_to_empty_is_truncated_not_deleted()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "s", 5);
        Done(await t.Store.DeleteStreamAsync("s", null));
        await WriteAsync(t, "s", 1);
        Done(await t.Store.TruncateStreamAsync("s", 6));
        await WriteAsync(t, "never", 2);
        Done(await t.Store.TruncateStreamAsync("never", 2));
        await WriteAsync(t, "gone", 2);
        Done(await t.Store.DeleteStreamAsync("gone", null));

        List<string> Listed()
        {
            var page = new EventPage();
            int n = t.Store.ListStreams(0, 100, page);
            return Enumerable.Range(0, n).Select(i => System.Text.Json.JsonDocument.Parse(page[i].ToArray()).RootElement.GetProperty("stream").GetString()!).ToList();
        }

        void AssertState()
        {
            Assert.Equal(new StreamMetadata("s", 0, 0, 6, false, 0, 6), t.Store.GetStreamMetadata("s"));
            Assert.False(t.Store.GetStreamMetadata("never")!.Deleted);
            Assert.True(t.Store.GetStreamMetadata("gone")!.Deleted);
            Assert.Equal(["s", "never"], Listed());
            Assert.Equal(2, t.Store.StreamCount);
            Assert.Equal(0, t.Store.EventCount);
        }

        AssertState();
        await t.CrashAndReopenAsync();
        AssertState();
        await t.ReopenAsync();
        AssertState();
    }

    [Fact]
    public async Task EVENTCOUNT_never_goes_backwards_while_a_maxCount_stream_is_written()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "capped", 1);
        Done(await t.Store.SetStreamMetadataAsync("capped", 1, 0));
        await WriteAsync(t, "other", 1);

        // Every ADD to "capped" hides its previous event: the count of visible events only grows (by "other").
        using var stop = new CancellationTokenSource();
        long decreases = 0;
        var reader = Task.Run(() =>
        {
            long last = t.Store.EventCount;
            while (!stop.IsCancellationRequested)
            {
                long now = t.Store.EventCount;
                if (now < last)
                {
                    decreases++;
                }

                last = now;
            }
        });

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 1500; i++)
            {
                await t.AppendAsync(w == 0 && i % 100 == 0 ? "other" : "capped", ExpectedVersion.Any, TestStore.Event());
            }
        })).ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await reader;
        Assert.Equal(0, decreases);
        Assert.Equal(1 + 1 + 15, t.Store.EventCount);
    }

    [Fact]
    public async Task Concurrent_STREAMMETA_changes_of_different_fields_merge_in_log_order()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "s", 3);
        Done(await t.Store.SetStreamMetadataAsync("s", 7, 9_000));

        // Both submitted before either is applied: each names one field, neither undoes the other.
        var count = t.Store.SetStreamMetadataAsync("s", 2, null);
        var age = t.Store.SetStreamMetadataAsync("s", null, 60_000);
        Done(await count);
        Done(await age);
        Assert.Equal(new StreamMetadata("s", 2, 60_000, 0, false, 0, 3), t.Store.GetStreamMetadata("s"));
        Done(await t.Store.SetStreamMetadataAsync("s", null, 0));
        Done(await t.Store.SetStreamMetadataAsync("s", null, null));
        Assert.Equal(new StreamMetadata("s", 2, 0, 0, false, 0, 3), t.Store.GetStreamMetadata("s"));

        await t.CrashAndReopenAsync();
        Assert.Equal(new StreamMetadata("s", 2, 0, 0, false, 0, 3), t.Store.GetStreamMetadata("s"));
    }

    [Fact]
    public async Task Repair_counts_and_logs_the_lifecycle_changes_it_cuts_off()
    {
        await using var t = await DamageTests.WriteAsync(10);
        Done(await t.Store.TruncateStreamAsync("s-0", 1)); // before the damage: kept
        string pad = new('d', 1000);
        for (int i = 10; i < 300; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync($"s-{i % 5}", ExpectedVersion.Any, TestStore.Event(data: $"{{\"pad\":\"{pad}\"}}"))).Status);
        }

        Done(await t.Store.DeleteStreamAsync("s-1", null));
        Done(await t.Store.TruncateStreamAsync("s-2", 3));
        Done(await t.Store.SetStreamMetadataAsync("s-3", 5, null));
        await t.Store.DisposeAsync();

        DamageTests.FlipByte(t.LogSegment(), (2 * DamageTests.PageSize) + 5000);
        await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
        await t.OpenAsync(repair: true);
        Assert.Equal(3, t.Store.LastRecovery.LifecycleChangesLostByRepair);
        Assert.Contains(
            t.Log.Messages(Serilog.Events.LogEventLevel.Error),
            m => m.Contains("3 lifecycle changes (DELETE/TRUNCATE/STREAMMETA/SNAPSHOT/FORGET) lost", StringComparison.Ordinal));
        Assert.Equal(1, t.Store.GetStreamMetadata("s-0")!.TruncatedBefore);
        Assert.False(t.Store.GetStreamMetadata("s-1")!.Deleted);
    }

    [Fact]
    public async Task A_damaged_control_record_in_the_checkpointed_log_is_refused()
    {
        var t = await TestStore.CreateAsync();
        try
        {
            await WriteAsync(t, "a", 2);
            long before = t.Store.AppliedEnd;
            Done(await t.Store.ForgetStreamAsync("a"));
            await WriteAsync(t, "a", 1);
            await t.Store.DisposeAsync();

            // The forget record follows the commit record after `before`: find its magic, flip a byte of its stream number.
            var segment = File.ReadAllBytes(t.LogSegment());
            int magic = segment.AsSpan((int)before).IndexOf("EFC1"u8) + (int)before;
            Assert.True(magic > before);
            DamageTests.FlipByte(t.LogSegment(), magic - LogEntryFormat.MagicOffset + LogEntryFormat.StreamNumberOffset);
            var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
            Assert.Contains("checksum mismatch", refused.Reason, StringComparison.Ordinal);
        }
        finally
        {
            TestStore.TryDelete(t.Directory);
        }
    }

    [Fact]
    public async Task A_store_with_a_version_2_snapshot_opens_and_takes_lifecycle_changes()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, "old", 4);
        var checksum = t.Store.Checksum;
        await t.Store.DisposeAsync();

        // Version 2: magic "EFFSNAP2", no lifecycle section (an empty one is its 8-byte count at the end of the body).
        string path = Path.Combine(t.Directory, "snapshot.bin");
        var bytes = File.ReadAllBytes(path);
        var body = bytes.AsSpan(0, bytes.Length - 8 - 8).ToArray();
        Assert.Equal(0x3350414E53464645UL, BinaryPrimitives.ReadUInt64LittleEndian(body));
        BinaryPrimitives.WriteUInt64LittleEndian(body, 0x3250414E53464645UL);
        var file = new byte[body.Length + 8];
        body.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(body.Length), XxHash64.HashToUInt64(body));
        File.WriteAllBytes(path, file);

        await t.OpenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(0, t.Store.LastRecovery.ReplayedEntries);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(4, (await t.ReadStreamAsync("old")).Count);
        Assert.Null(t.Store.ReadSnapshot("old"));

        Done(await t.Store.TruncateStreamAsync("old", 3));
        await t.ReopenAsync();
        Assert.Single(await t.ReadStreamAsync("old"));
    }

    [Fact]
    public void A_control_record_is_sealed_and_every_changed_bit_is_found()
    {
        var name = "stream-1"u8.ToArray();
        var data = "{\"x\":1}"u8.ToArray();
        var record = new byte[ControlRecordFormat.Size(name.Length, data.Length)];
        ControlRecordFormat.Write(record, 3, ControlKind.Snapshot, 42, 7, 5, 0, 1_700_000_000_000, name, data);
        Assert.Null(ControlRecordFormat.Validate(record));
        Assert.True(ControlRecordFormat.IsControl(record));
        Assert.NotNull(LogEntryFormat.Validate(record)); // never taken for an event entry
        var view = new ControlView(record);
        Assert.Equal((ControlKind.Snapshot, 42L, 7L, 5L, "{\"x\":1}"), (view.Kind, view.Position, view.StreamNumber, view.A, Encoding.UTF8.GetString(view.Data)));
        for (int i = 0; i < record.Length * 8; i += 7)
        {
            record[i / 8] ^= (byte)(1 << (i % 8));
            Assert.NotNull(ControlRecordFormat.Validate(record));
            record[i / 8] ^= (byte)(1 << (i % 8));
        }
    }

    [Fact]
    public void A_forgotten_event_keeps_every_field_but_data_and_metadata()
    {
        string stored = """{"id":"01J0000000000000000000000A","position":3,"stream":"s","version":1,"type":"T","data":{"name":"Ada"},"metadata":"m","causation_id":"01J0000000000000000000000A","correlation_id":"01J0000000000000000000000A","message_id":"x","added_at":"2026-01-01T00:00:00.000Z"}""";
        Assert.Equal(
            """{"id":"01J0000000000000000000000A","position":3,"stream":"s","version":1,"type":"T","data":null,"metadata":null,"causation_id":"01J0000000000000000000000A","correlation_id":"01J0000000000000000000000A","message_id":"x","added_at":"2026-01-01T00:00:00.000Z","forgotten":true}""",
            Encoding.UTF8.GetString(ForgottenEvent.Render(Encoding.UTF8.GetBytes(stored))));
        string noMetadata = """{"id":"01J0000000000000000000000A","position":3,"stream":"s","version":1,"type":"T","data":"text","causation_id":"01J0000000000000000000000A","correlation_id":"01J0000000000000000000000A","added_at":"2026-01-01T00:00:00.000Z"}""";
        Assert.Equal(
            """{"id":"01J0000000000000000000000A","position":3,"stream":"s","version":1,"type":"T","data":null,"metadata":null,"causation_id":"01J0000000000000000000000A","correlation_id":"01J0000000000000000000000A","added_at":"2026-01-01T00:00:00.000Z","forgotten":true}""",
            Encoding.UTF8.GetString(ForgottenEvent.Render(Encoding.UTF8.GetBytes(noMetadata))));
        Assert.Equal(1, ForgottenEvent.VersionOf(Encoding.UTF8.GetBytes(stored)));
    }
}
