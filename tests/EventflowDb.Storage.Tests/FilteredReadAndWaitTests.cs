using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>The store's hooks for long-poll reads and subscriptions: filtered reads with progress, and commit waits.</summary>
public sealed class FilteredReadAndWaitTests
{
    private sealed class StreamFilter(string stream) : IEventFilter
    {
        private readonly byte[] _name = System.Text.Encoding.UTF8.GetBytes(stream);

        public bool Matches(ReadOnlySpan<byte> streamUtf8, ReadOnlySpan<byte> eventJson) => streamUtf8.SequenceEqual(_name);
    }

    [Fact]
    public async Task Filtered_read_counts_matching_events_and_reports_how_far_it_scanned()
    {
        await using var t = await TestStore.CreateAsync();
        for (int i = 0; i < 30; i++)
        {
            await t.AppendAsync(i % 3 == 0 ? "wanted" : $"other-{i}", ExpectedVersion.Any, TestStore.Event());
        }

        var all = await t.ReadAllAsync(Ulid.Empty);
        var page = new EventPage();
        var progress = await t.Store.ReadAllAsync(Ulid.Empty, 4, page, new StreamFilter("wanted"), int.MaxValue);
        Assert.Equal((4, 10), (progress.Count, progress.Scanned));
        Assert.Equal(all[9].GetProperty("id").GetString(), progress.LastScanned.ToString());
        Assert.All(TestStore.Parse(page, page.Count), e => Assert.Equal("wanted", e.GetProperty("stream").GetString()));

        // A scan budget stops early; the next read resumes after the last event examined.
        progress = await t.Store.ReadAllAsync(progress.LastScanned, 100, page, new StreamFilter("wanted"), 5);
        Assert.Equal((1, 5), (progress.Count, progress.Scanned));
        progress = await t.Store.ReadAllAsync(progress.LastScanned, 100, page, new StreamFilter("wanted"), int.MaxValue);
        Assert.Equal((5, 15), (progress.Count, progress.Scanned));
        progress = await t.Store.ReadAllAsync(progress.LastScanned, 100, page, new StreamFilter("wanted"), int.MaxValue);
        Assert.Equal((0, 0), (progress.Count, progress.Scanned));
    }

    [Fact]
    public async Task Wait_for_commit_completes_on_the_next_commit_and_times_out_otherwise()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());
        var last = t.Store.Checksum.LastId;
        Assert.True(await t.Store.WaitForCommitAfterAsync(Ulid.Empty, TimeSpan.FromSeconds(30)));
        Assert.False(await t.Store.WaitForCommitAfterAsync(last, TimeSpan.FromMilliseconds(50)));

        var waiting = t.Store.WaitForCommitAfterAsync(last, Timeout.InfiniteTimeSpan).AsTask();
        Assert.False(waiting.IsCompleted);
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));

        using var cancel = new CancellationTokenSource();
        var cancelled = t.Store.WaitForCommitAfterAsync(t.Store.Checksum.LastId, Timeout.InfiniteTimeSpan, cancel.Token).AsTask();
        await cancel.CancelAsync();
        Assert.False(await cancelled.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
