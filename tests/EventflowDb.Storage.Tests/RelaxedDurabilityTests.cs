using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>The relaxed durability mode (<see cref="StoreOptions.FlushInterval"/>): acknowledge first, fsync on a timer.</summary>
public sealed class RelaxedDurabilityTests
{
    [Fact]
    public async Task Appends_are_acknowledged_before_any_commit_and_persist_after_a_graceful_close()
    {
        await using var t = await TestStore.CreateAsync(o => o with { FlushInterval = TimeSpan.FromHours(1), RelaxedCommitEvery = TimeSpan.FromHours(1) });
        long commitsBefore = t.Store.CommitCount;
        for (int i = 0; i < 20; i++)
        {
            var result = await t.AppendAsync($"r-{i % 3}", ExpectedVersion.Any, TestStore.Event(messageId: $"m-{i}"), TestStore.Event());
            Assert.Equal(AppendStatus.Appended, result.Status);
        }

        // Acknowledged without a commit: the hour-long flush interval has not come round.
        Assert.Equal(commitsBefore, t.Store.CommitCount);

        await t.ReopenAsync();
        Assert.Equal(40, t.Store.EventCount);
        Assert.Equal(3, t.Store.StreamCount);
        Assert.Equal(40, (await t.ReadAllAsync(Ulid.Empty)).Count);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("r-0", ExpectedVersion.Any, TestStore.Event(messageId: "m-0"))).Status);
    }

    [Fact]
    public async Task A_full_log_buffer_commits_early_and_queued_appends_keep_their_order()
    {
        // 256 KiB of log memory and an hour-long flush interval, 2.4 MB of appends: whenever the page flushes
        // fall behind, the writer finds the buffer full and must wait for room (signalling the committer), and
        // appends arriving meanwhile queue behind it. Each "connection" submits without awaiting (a pipeline)
        // with exact expected versions, so any reordering would answer WRONGVERSION, and a wait for a commit
        // that never comes would hang.
        await using var t = await TestStore.CreateAsync(o => o with { FlushInterval = TimeSpan.FromHours(1), RelaxedCommitEvery = TimeSpan.FromHours(1) });
        string data = "{\"pad\":\"" + new string('p', 2000) + "\"}";
        const int Connections = 4;
        const int PerConnection = 300;
        var pipelines = Enumerable.Range(0, Connections).Select(c => Task.Run(async () =>
        {
            var pending = new List<Task<AppendResult>>();
            for (int v = 0; v < PerConnection; v++)
            {
                pending.Add(t.Store.AppendAsync(TestStore.Request($"p-{c}", ExpectedVersion.Exact(v), TestStore.Event("E", data))).AsTask());
            }

            var statuses = new List<AppendStatus>();
            foreach (var append in pending)
            {
                statuses.Add((await append).Status);
            }

            return statuses;
        })).ToArray();

        foreach (var statuses in await Task.WhenAll(pipelines).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            Assert.All(statuses, s => Assert.Equal(AppendStatus.Appended, s));
        }

        await t.ReopenAsync();
        Assert.Equal(Connections * PerConnection, t.Store.EventCount);
        for (int c = 0; c < Connections; c++)
        {
            var events = await t.ReadStreamAsync($"p-{c}", 0, PerConnection);
            Assert.Equal(Enumerable.Range(0, PerConnection).Select(v => (long)v), events.Select(e => e.GetProperty("version").GetInt64()));
        }
    }

    [Fact]
    public async Task Appends_become_readable_and_durable_within_the_flush_interval()
    {
        string directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
        var relaxed = new TestStore.Configured(directory, o => o with { FlushInterval = TimeSpan.FromMilliseconds(20) });
        var store = await relaxed.OpenAsync();
        string copy = directory + "-copy";
        try
        {
            for (int i = 0; i < 10; i++)
            {
                await store.AppendAsync(TestStore.Request("f", ExpectedVersion.Any, TestStore.Event(messageId: $"f-{i}")));
            }

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (store.EventCount < 10 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            Assert.Equal(10, store.EventCount);

            // A crash after the flush, simulated by copying the live store's files: every event is there.
            CopyDirectory(directory, copy);
            var log = new LogCollector();
            await using var recovered = await FasterEventStore.OpenAsync(TestStore.Options(copy), log.Logger);
            Assert.Equal(10, recovered.EventCount);
            var page = new EventPage();
            Assert.Equal(10, await recovered.ReadStreamAsync("f"u8.ToArray(), 0, 100, page));
        }
        finally
        {
            await store.DisposeAsync();
            TestStore.TryDelete(directory);
            TestStore.TryDelete(copy);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            try
            {
                using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var target = new FileStream(Path.Combine(to, Path.GetFileName(file)), FileMode.Create);
                source.CopyTo(target);
            }
            catch (FileNotFoundException)
            {
            }
        }

        foreach (var sub in Directory.GetDirectories(from))
        {
            CopyDirectory(sub, Path.Combine(to, Path.GetFileName(sub)));
        }
    }
}
