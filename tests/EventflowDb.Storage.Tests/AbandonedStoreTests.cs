using System.Collections.Concurrent;
using System.Text;
using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

public sealed class AbandonedStoreTests
{
    /// <summary>
    /// A crash, simulated: copy the directory of a live store while appends are in flight (state files
    /// first, the append-only log last, as a crash would leave them at least that new) and open the copy
    /// without the original ever being disposed. Every append acknowledged before the copy must be there.
    /// </summary>
    [Fact]
    public async Task A_copy_taken_during_writes_recovers_every_acknowledged_append()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 50; i++)
        {
            await t.AppendAsync($"w-{i % 4}", ExpectedVersion.Any, TestStore.Event(messageId: $"pre-{i}"));
        }

        await t.Store.CheckpointAsync();
        var acknowledged = new ConcurrentBag<(string Stream, string Json)>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string stream = $"w-{w % 4}";
                var result = await t.AppendAsync(stream, ExpectedVersion.Any, TestStore.Event(data: $"{{\"w\":{w},\"i\":{i}}}", messageId: $"{w}-{i}"), TestStore.Event());
                foreach (var e in result.Events)
                {
                    acknowledged.Add((stream, Encoding.UTF8.GetString(e.Span)));
                }
            }
        })).ToList();

        // Copy only once writes are well under way; wait on progress, not on time, so a loaded machine cannot fail it.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (acknowledged.Count <= 100 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var before = acknowledged.ToList();
        string copy = t.Directory + "-copy";
        TestStore.CopyDirectory(t.Directory, copy, skip: "log");
        TestStore.CopyDirectory(Path.Combine(t.Directory, "log"), Path.Combine(copy, "log"), skip: null);
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(writers);
        Assert.True(before.Count > 100, $"only {before.Count} acknowledged events before the copy");

        var log = new LogCollector();
        var recovered = await t.OpenOtherAsync(copy, log);
        try
        {
            Assert.True(recovered.EventCount >= before.Count + 50);
            var page = new EventPage();
            var stored = new HashSet<string>();
            for (int s = 0; s < 4; s++)
            {
                for (long from = 0; ; from += 1000)
                {
                    int n = await recovered.ReadStreamAsync(Encoding.UTF8.GetBytes($"w-{s}"), from, 1000, page);
                    if (n == 0)
                    {
                        break;
                    }

                    stored.UnionWith(TestStore.Raw(page));
                }
            }

            Assert.Equal(recovered.EventCount, stored.Count);
            Assert.All(before, a => Assert.Contains(a.Json, stored));

            // The recovered copy keeps working.
            var more = await recovered.AppendAsync(TestStore.Request("w-0", ExpectedVersion.Any, TestStore.Event(messageId: "0-0")));
            Assert.Equal(AppendStatus.Duplicate, more.Status);
        }
        finally
        {
            await recovered.DisposeAsync();
            TestStore.TryDelete(copy);
        }
    }
}
