using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Concurrent_appends_keep_positions_gap_free_and_ids_strictly_increasing()
    {
        await using var t = await TestStore.CreateAsync();
        var tasks = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                var result = await t.AppendAsync($"w-{worker}", ExpectedVersion.Exact(i * 2), TestStore.Event(), TestStore.Event());
                Assert.Equal(AppendStatus.Appended, result.Status);
            }
        })).ToList();

        // Readers run alongside and only ever see committed, gap-free prefixes.
        var reader = Task.Run(async () =>
        {
            while (!tasks.All(x => x.IsCompleted))
            {
                var all = await t.ReadAllAsync(Ulid.Empty);
                for (int i = 0; i < all.Count; i++)
                {
                    Assert.Equal(i, all[i].GetProperty("position").GetInt64());
                }
            }
        });
        await Task.WhenAll(tasks);
        await reader;

        var events = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(3200, events.Count);
        Assert.Equal(3200, t.Store.EventCount);
        for (int i = 1; i < events.Count; i++)
        {
            Assert.Equal(i, events[i].GetProperty("position").GetInt64());
            Assert.True(string.CompareOrdinal(events[i - 1].GetProperty("id").GetString(), events[i].GetProperty("id").GetString()) < 0);
        }

        Assert.True(t.Store.CommitCount < 3200 / 2, $"group commit expected; {t.Store.CommitCount} commits for 1600 appends");
    }
}
