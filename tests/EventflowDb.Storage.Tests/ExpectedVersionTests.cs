using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

public sealed class ExpectedVersionTests
{
    [Fact]
    public async Task Rules_for_any_no_stream_exists_and_exact()
    {
        await using var t = await TestStore.CreateAsync();
        Assert.Equal(AppendStatus.WrongVersionGap, (await t.AppendAsync("s", ExpectedVersion.Exists, TestStore.Event())).Status);
        Assert.Equal(AppendStatus.WrongVersionGap, (await t.AppendAsync("s", ExpectedVersion.Exact(1), TestStore.Event())).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event())).Status);

        var conflict = await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event());
        Assert.Equal(AppendStatus.WrongVersionConflict, conflict.Status);
        Assert.Equal(1, conflict.StreamCount);
        Assert.Empty(conflict.Events);

        Assert.Equal(AppendStatus.WrongVersionConflict, (await t.AppendAsync("s", ExpectedVersion.Exact(0), TestStore.Event())).Status);
        var gap = await t.AppendAsync("s", ExpectedVersion.Exact(5), TestStore.Event());
        Assert.Equal(AppendStatus.WrongVersionGap, gap.Status);
        Assert.Equal(1, gap.StreamCount);

        var exact = await t.AppendAsync("s", ExpectedVersion.Exact(1), TestStore.Event(), TestStore.Event());
        Assert.Equal(AppendStatus.Appended, exact.Status);
        Assert.Equal(1, exact.StreamCount);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s", ExpectedVersion.Exists, TestStore.Event())).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event())).Status);
        Assert.Equal(5, t.Store.EventCount);
        Assert.Equal(1, t.Store.StreamCount);
    }

    [Fact]
    public async Task Rejected_appends_change_nothing()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());
        var checksum = t.Store.Checksum;
        await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event());
        await t.AppendAsync("other", ExpectedVersion.Exists, TestStore.Event());
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(1, t.Store.EventCount);
        Assert.Equal(1, t.Store.StreamCount);
        Assert.Empty(await t.ReadStreamAsync("other"));
    }

    [Fact]
    public async Task Pipelined_appends_see_each_others_uncommitted_versions()
    {
        await using var t = await TestStore.CreateAsync();
        // Issued without awaiting: each checks against the writer's view including in-flight appends.
        var tasks = Enumerable.Range(0, 100).Select(i => t.AppendAsync("s", ExpectedVersion.Exact(i), TestStore.Event())).ToList();
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.Equal(AppendStatus.Appended, r.Status));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), results.Select(r => r.StreamCount));
    }
}
