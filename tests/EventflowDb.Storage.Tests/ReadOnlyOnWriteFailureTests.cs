using NUlid;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

/// <summary>A failed write to the event log (disk full, I/O error, short write) makes the store read-only; nothing acknowledged is lost.</summary>
public sealed class ReadOnlyOnWriteFailureTests
{
    private static async Task<(TestStore Store, Func<FaultyDevice> Log)> OpenWithFaultyLogAsync()
    {
        FaultyDevice? log = null;
        var t = await TestStore.CreateAsync(o => o with
        {
            DeviceDecorator = (role, device) => role == StoreDeviceRole.EventLog ? log = new FaultyDevice(device) : device,
        });
        return (t, () => log!);
    }

    private static async Task<StoreChecksum> AppendAcknowledgedAsync(TestStore t, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync($"s-{i % 3}", ExpectedVersion.Any, TestStore.Event(data: $"{{\"n\":{i}}}"))).Status);
        }

        return t.Store.Checksum;
    }

    private static async Task AssertReadOnlyAsync(TestStore t, string reason)
    {
        var first = await Assert.ThrowsAsync<StoreReadOnlyException>(() => t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event()));
        Assert.StartsWith("store is read-only: ", first.Message, StringComparison.Ordinal);
        Assert.Contains(reason, first.Message, StringComparison.Ordinal);
        Assert.Equal(first.Reason, t.Store.ReadOnlyReason);

        // Later appends fail at once with the same reason, whatever the stream.
        var later = await Assert.ThrowsAsync<StoreReadOnlyException>(() => t.AppendAsync("other", ExpectedVersion.NoStream, TestStore.Event()));
        Assert.Equal(first.Message, later.Message);
        Assert.Single(t.Log.Messages(LogEventLevel.Error), m => m.Contains(reason, StringComparison.Ordinal));
    }

    private static async Task AssertServesAsync(TestStore t, int count, StoreChecksum checksum)
    {
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(count, t.Store.EventCount);
        var all = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(Enumerable.Range(0, count), all.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.Equal((count + 2) / 3, (await t.ReadStreamAsync("s-0")).Count);
    }

    [Fact]
    public async Task A_log_write_failing_with_enospc_makes_the_store_read_only_and_a_restart_recovers_every_acknowledged_event()
    {
        var (t, log) = await OpenWithFaultyLogAsync();
        await using var _ = t;
        var checksum = await AppendAcknowledgedAsync(t, 20);

        log().FailNextWrites(FaultyDevice.NoSpace);
        await AssertReadOnlyAsync(t, "No space left on device (ENOSPC) writing segment 0 of the event log");
        await AssertServesAsync(t, 20, checksum);

        await t.ReopenAsync(); // the new device has no fault: space was freed
        Assert.Null(t.Store.ReadOnlyReason);
        await AssertServesAsync(t, 20, checksum);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event(data: "{\"n\":20}"))).Status);
        await t.ReopenAsync();
        Assert.Equal(21, t.Store.EventCount);
    }

    [Fact]
    public async Task A_log_write_failing_with_eio_names_the_error()
    {
        var (t, log) = await OpenWithFaultyLogAsync();
        await using var _ = t;
        var checksum = await AppendAcknowledgedAsync(t, 5);
        log().FailNextWrites(FaultyDevice.IoError);
        await AssertReadOnlyAsync(t, "(EIO) writing segment 0 of the event log");
        await AssertServesAsync(t, 5, checksum);
    }

    [Fact]
    public async Task A_short_log_write_makes_the_store_read_only_and_a_restart_recovers_every_acknowledged_event()
    {
        var (t, log) = await OpenWithFaultyLogAsync();
        await using var _ = t;
        var checksum = await AppendAcknowledgedAsync(t, 20);

        log().ShortWrite = log().Writes + 1;
        await AssertReadOnlyAsync(t, "short write");
        await AssertServesAsync(t, 20, checksum);

        await t.ReopenAsync();
        Assert.Null(t.Store.ReadOnlyReason);
        await AssertServesAsync(t, 20, checksum);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-1", ExpectedVersion.Any, TestStore.Event(data: "{\"n\":20}"))).Status);
    }

    [Fact]
    public async Task Appends_in_flight_when_the_disk_fills_all_fail_and_none_is_acknowledged_and_lost()
    {
        var (t, log) = await OpenWithFaultyLogAsync();
        await using var _ = t;
        var checksum = await AppendAcknowledgedAsync(t, 3);
        log().FailNextWrites(FaultyDevice.NoSpace);

        var inFlight = Enumerable.Range(0, 50).Select(i => t.AppendAsync($"p-{i}", ExpectedVersion.Any, TestStore.Event())).ToList();
        foreach (var append in inFlight)
        {
            await Assert.ThrowsAsync<StoreReadOnlyException>(() => append);
        }

        await AssertServesAsync(t, 3, checksum);
        await t.ReopenAsync();
        await AssertServesAsync(t, 3, checksum);
    }
}
