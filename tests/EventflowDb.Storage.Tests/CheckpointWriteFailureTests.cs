using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>A checkpoint whose files could not all be written is never used: the previous one stays, nothing is lost.</summary>
public sealed class CheckpointWriteFailureTests
{
    [Fact]
    public async Task A_checkpoint_with_failed_writes_is_dropped_and_the_previous_one_is_used_on_reopen()
    {
        bool failCheckpointWrites = false;
        await using var t = await TestStore.CreateAsync(o => o with
        {
            DeviceDecorator = (role, device) => role == StoreDeviceRole.IndexCheckpoint && failCheckpointWrites
                ? new FaultyDevice(device) { FailWritesFrom = 1, WriteError = FaultyDevice.NoSpace }
                : device,
        });
        for (int i = 0; i < 10; i++)
        {
            await t.AppendAsync($"s-{i % 2}", ExpectedVersion.Any, TestStore.Event(messageId: $"m-{i}"));
        }

        await t.Store.CheckpointAsync();
        long good = t.Store.CheckpointsTaken;

        for (int i = 10; i < 30; i++)
        {
            await t.AppendAsync($"s-{i % 2}", ExpectedVersion.Any, TestStore.Event(messageId: $"m-{i}"));
        }

        failCheckpointWrites = true;
        await t.Store.CheckpointAsync();
        Assert.Equal(good, t.Store.CheckpointsTaken);
        Assert.Null(t.Store.ReadOnlyReason); // a checkpoint is not the log: appends go on
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-0", ExpectedVersion.Any, TestStore.Event(messageId: "m-30"))).Status);
        var checksum = t.Store.Checksum;

        await t.ReopenAsync(); // the final checkpoint fails too
        failCheckpointWrites = false;
        await t.ReopenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(31, (await t.ReadAllAsync(Ulid.Empty)).Count);
        Assert.Equal(16, (await t.ReadStreamAsync("s-0")).Count);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("s-1", ExpectedVersion.Any, TestStore.Event(messageId: "m-29"))).Status);
    }
}
