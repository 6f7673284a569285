using System.Text;

namespace EventflowDb.Storage.Tests;

/// <summary>Failures of the event index's own device: a failed read fails that read or ADD only; a failed write makes the store read-only.</summary>
public sealed class IndexDeviceFaultTests
{
    // Two 16 KiB pages of index log in memory: most keys of a few thousand events are read from disk.
    private static async Task<(TestStore Store, Func<FaultyDevice> Index)> OpenWithFaultyIndexAsync()
    {
        FaultyDevice? index = null;
        var t = await TestStore.CreateAsync(o => o with
        {
            IndexMemorySizeBits = 15,
            DeviceDecorator = (role, device) => role == StoreDeviceRole.IndexLog ? index = new FaultyDevice(device) : device,
        });
        return (t, () => index!);
    }

    private static async Task AppendStreamsAsync(TestStore t, int streams)
    {
        var appends = Enumerable.Range(0, streams).Select(i => t.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStore.Event(messageId: $"m-{i}"))).ToList();
        foreach (var append in appends)
        {
            Assert.Equal(AppendStatus.Appended, (await append).Status);
        }
    }

    [Fact]
    public async Task A_failed_index_read_fails_that_read_with_an_io_error_and_the_store_goes_on()
    {
        var (t, index) = await OpenWithFaultyIndexAsync();
        await using var _ = t;
        await AppendStreamsAsync(t, 3000);
        var page = new EventPage();

        index().FailReads = true;
        var error = await Assert.ThrowsAsync<IOException>(async () => await t.Store.ReadStreamAsync(Encoding.UTF8.GetBytes("s-0"), 0, 10, page));
        Assert.Contains("event index", error.Message, StringComparison.Ordinal);

        // An ADD whose idempotency check needs the same read fails alone: nothing was stored, the store is not read-only.
        var add = await Assert.ThrowsAsync<IOException>(() => t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event(messageId: "m-0")));
        Assert.Contains("not stored", add.Message, StringComparison.Ordinal);
        Assert.Null(t.Store.ReadOnlyReason);

        // Keys still in memory are read as ever.
        Assert.Single(await t.ReadStreamAsync("s-2999"));

        index().FailReads = false;
        Assert.Single(await t.ReadStreamAsync("s-0"));
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event(messageId: "m-0"))).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event(messageId: "m-new"))).Status);
        Assert.Equal(3001, t.Store.EventCount);
    }

    [Fact]
    public async Task A_failed_index_log_write_makes_the_store_read_only_and_a_restart_recovers_every_acknowledged_event()
    {
        FaultyDevice? index = null;
        await using var t = await TestStore.CreateAsync(o => o with
        {
            DeviceDecorator = (role, device) => role == StoreDeviceRole.IndexLog ? index = new FaultyDevice(device) : device,
        });
        await AppendStreamsAsync(t, 100);
        var checksum = t.Store.Checksum;

        // A checkpoint flushes the index log: its writes fail.
        index!.FailNextWrites(FaultyDevice.NoSpace);
        await Assert.ThrowsAsync<StoreReadOnlyException>(() => t.Store.CheckpointAsync());
        var refused = await Assert.ThrowsAsync<StoreReadOnlyException>(() => t.AppendAsync("s-1", ExpectedVersion.Any, TestStore.Event()));
        Assert.Contains("No space left on device (ENOSPC) writing segment 0 of the event index log", refused.Message, StringComparison.Ordinal);
        Assert.Single(await t.ReadStreamAsync("s-50"));
        Assert.Equal(100, (await t.ReadAllAsync(NUlid.Ulid.Empty)).Count);

        await t.ReopenAsync();
        Assert.Null(t.Store.ReadOnlyReason);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Single(await t.ReadStreamAsync("s-50"));
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("s-7", ExpectedVersion.Any, TestStore.Event(messageId: "m-7"))).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-7", ExpectedVersion.Any, TestStore.Event())).Status);
    }
}
