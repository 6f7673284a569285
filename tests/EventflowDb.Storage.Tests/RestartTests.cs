using System.Text;
using System.Text.Json;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

public sealed class RestartTests
{
    private static async Task WriteAsync(TestStore t, int appends, string prefix)
    {
        for (int i = 0; i < appends; i++)
        {
            await t.AppendAsync($"{prefix}-{i % 4}", ExpectedVersion.Any, TestStore.Event(messageId: $"{prefix}-{i}"), TestStore.Event());
        }
    }

    [Fact]
    public async Task Counters_and_checksum_survive_a_graceful_close_without_replay()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, 40, "a");
        await t.Store.CheckpointAsync();
        await WriteAsync(t, 10, "b");
        var (events, streams, checksum) = (t.Store.EventCount, t.Store.StreamCount, t.Store.Checksum);
        Assert.Equal(100, events);
        Assert.NotEqual(Ulid.Empty, checksum.LastId);

        await t.ReopenAsync();
        Assert.Equal(0, t.Store.LastRecovery.ReplayedEntries);
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal((events, streams, checksum), (t.Store.EventCount, t.Store.StreamCount, t.Store.Checksum));
        Assert.Equal(events, t.Store.EventCountEstimate);
        Assert.Equal(streams, t.Store.StreamCountEstimate);
        Assert.Equal(events, (await t.ReadAllAsync(Ulid.Empty)).Count);
    }

    [Fact]
    public async Task Restart_after_writes_since_the_last_checkpoint_replays_only_the_tail()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, 30, "a");
        await t.Store.CheckpointAsync();
        Assert.Equal(60, t.Store.EventCountEstimate);
        await WriteAsync(t, 7, "b");
        var checksum = t.Store.Checksum;
        Assert.Equal(60, t.Store.EventCountEstimate);
        await t.CrashAndReopenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(7, t.Store.LastRecovery.ReplayedEntries);
        Assert.Equal(14, t.Store.LastRecovery.ReplayedEvents);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(74, t.Store.EventCount);
        Assert.Equal(8, t.Store.StreamCount);
        Assert.Contains(t.Log.Messages(Serilog.Events.LogEventLevel.Information), m => m.Contains("replayed 7 entries", StringComparison.Ordinal));

        // Replay re-indexed the tail: reads, dedupe and version checks all see it.
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("b-2", ExpectedVersion.Any, TestStore.Event(messageId: "b-2"))).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("b-2", ExpectedVersion.Exact(4), TestStore.Event())).Status);
        Assert.Equal(5, (await t.ReadStreamAsync("b-2")).Count);

        // The open after a replay checkpointed, so the next one replays nothing.
        await t.ReopenAsync();
        Assert.Equal(0, t.Store.LastRecovery.ReplayedEntries);
        Assert.Equal(75, t.Store.EventCount);
    }

    [Fact]
    public async Task Without_any_snapshot_the_whole_log_is_replayed_identically()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteAsync(t, 25, "a");
        var checksum = t.Store.Checksum;
        await t.CrashAsync();
        File.Delete(Path.Combine(t.Directory, "snapshot.bin"));

        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(25, t.Store.LastRecovery.ReplayedEntries);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(50, t.Store.EventCount);
        Assert.Equal(50, t.Store.EventCountEstimate);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("a-0", ExpectedVersion.Any, TestStore.Event(messageId: "a-4"))).Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_store_keeps_the_segment_size_it_was_created_with(bool legacyMeta)
    {
        // Created with 1 MiB segments and written past the first; reopened with 256 KiB configured.
        await using var t = await TestStore.CreateAsync();
        var data = "{\"pad\":\"" + new string('p', 1000) + "\"}";
        var written = new List<string>();
        for (int i = 0; i < 1500; i++)
        {
            var result = await t.AppendAsync($"s-{i % 7}", ExpectedVersion.Any, TestStore.Event("E", data));
            written.Add(Encoding.UTF8.GetString(result.Events[0].Span));
        }

        Assert.True(File.Exists(Path.Combine(t.Directory, "log", "events.log.1")));
        await t.Store.DisposeAsync();
        string meta = Path.Combine(t.Directory, "store.meta");
        if (legacyMeta)
        {
            // store.meta as written before it recorded the segment size: magic "META", epoch, checksum.
            var bytes = new byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x4154454D);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 50);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), System.IO.Hashing.XxHash64.HashToUInt64(bytes.AsSpan(0, 8)));
            File.WriteAllBytes(meta, bytes);
        }

        var smaller = new TestStore.Configured(t.Directory, o => o with { LogSegmentSizeBits = 18 });
        for (int round = 0; round < 2; round++)
        {
            await using var store = await smaller.OpenAsync();
            Assert.Equal(written.Count, store.EventCount);
            var page = new EventPage();
            var all = new List<string>();
            var after = Ulid.Empty;
            while (await store.ReadAllAsync(after, 500, page) is int n && n > 0)
            {
                all.AddRange(TestStore.Raw(page));
                after = Ulid.Parse(JsonDocument.Parse(all[^1]).RootElement.GetProperty("id").GetString());
            }

            Assert.Equal(written, all);
            var added = await store.AppendAsync(TestStore.Request("s-0", ExpectedVersion.Any, TestStore.Event("E", data)));
            written.Add(Encoding.UTF8.GetString(added.Events[0].Span));
        }

        Assert.False(File.Exists(Path.Combine(t.Directory, "log", "events.log.4")), "1 MiB segments: 1.5 MB of events fit in two");
        Assert.Equal(32, new FileInfo(meta).Length);
        await t.OpenAsync();
    }

    [Fact]
    public async Task Periodic_checkpoint_runs_while_writes_happen()
    {
        await using var t = await TestStore.CreateAsync();
        await t.Store.DisposeAsync();
        var fast = new TestStore.Configured(t.Directory, o => o with { CheckpointInterval = TimeSpan.FromMilliseconds(200) });
        await using var store = await fast.OpenAsync();
        long before = store.CheckpointsTaken;
        for (int i = 0; i < 20; i++)
        {
            await store.AppendAsync(TestStore.Request("s", ExpectedVersion.Any, TestStore.Event()));
            await Task.Delay(30);
        }

        // The first periodic checkpoint of a new store also writes the hash index, which takes a while.
        for (int i = 0; i < 200 && store.CheckpointsTaken == before; i++)
        {
            await Task.Delay(50);
        }

        Assert.True(store.CheckpointsTaken > before);
        Assert.Contains(fast.Log.Messages(Serilog.Events.LogEventLevel.Information), m => m.StartsWith("Checkpoint taken", StringComparison.Ordinal));
        Assert.True(store.SizeOnDisk > 0);

        // Closed first: two stores open on one directory would race on snapshot.bin.tmp (the periodic checkpoint).
        await store.DisposeAsync();
        await t.OpenAsync();
    }
}
