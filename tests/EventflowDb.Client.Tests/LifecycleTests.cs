using System.Text.Json.Serialization;
using EventflowDb.Client.Tests.Support;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>The typed client's stream lifecycle methods and snapshots against a real server.</summary>
public sealed class LifecycleTests(ClientFixture fixture, ITestOutputHelper output)
    : ClientTest<ClientFixture>(fixture, output), IClassFixture<ClientFixture>
{
    [Fact]
    public async Task A_deleted_stream_reads_as_empty_leaves_the_listing_and_continues_its_versions()
    {
        string stream = Unique("deleted");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(3));

        await Client.DeleteStreamAsync(stream);

        Assert.Empty(await Client.ReadStreamAsync(stream).CollectAsync());
        Assert.DoesNotContain(await Client.ListStreamsAsync().CollectAsync(), s => s.Stream == stream);
        Assert.DoesNotContain(await Client.ReadAllAsync().CollectAsync(), e => e.Stream == stream);
        var metadata = await Client.GetStreamMetadataAsync(stream);
        Assert.True(metadata.Deleted);
        Assert.Equal(stream, metadata.Stream);
        Assert.Equal(3, metadata.NextVersion);

        // Written again, the stream continues at version 3: the old versions are not reused.
        var again = await Client.AppendAsync(stream, ExpectedVersion.Exact(metadata.NextVersion), EventData.FromJson("Reopened", "{}"));
        Assert.Equal(3, Assert.Single(again).Version);
        var read = Assert.Single(await Client.ReadStreamAsync(stream).CollectAsync());
        Assert.Equal((3L, "Reopened"), (read.Version, read.Type));
        Assert.False((await Client.GetStreamMetadataAsync(stream)).Deleted);
    }

    [Fact]
    public async Task Delete_with_a_stale_expected_version_throws_WrongExpectedVersion_and_deletes_nothing()
    {
        string stream = Unique("delete-check");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));

        var conflict = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.DeleteStreamAsync(stream, ExpectedVersion.Exact(1)));
        Assert.Equal(ExpectedVersion.Exact(1), conflict.ExpectedVersion);
        Assert.Equal(2, conflict.ActualVersion);
        Assert.Equal(stream, conflict.Stream);
        Assert.Equal(EventflowDbErrorCodes.WrongVersion, conflict.ErrorCode);
        Assert.Equal(2, await Client.ReadStreamAsync(stream).CountAllAsync());

        await Client.DeleteStreamAsync(stream, ExpectedVersion.Exact(2));
        Assert.Empty(await Client.ReadStreamAsync(stream).CollectAsync());
    }

    [Fact]
    public async Task Truncate_hides_the_versions_below_and_keeps_the_others_versions()
    {
        string stream = Unique("truncated");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(5));

        await Client.TruncateStreamAsync(stream, 3);

        Assert.Equal([3L, 4L], (await Client.ReadStreamAsync(stream).CollectAsync()).Select(e => e.Version));
        Assert.Equal([3L, 4L], (await Client.ReadAllAsync().CollectAsync()).Where(e => e.Stream == stream).Select(e => e.Version));
        Assert.Equal(3, (await Client.GetStreamMetadataAsync(stream)).TruncatedBefore);
        var next = await Client.AppendAsync(stream, ExpectedVersion.Exact(5), EventData.FromJson("Next", "{}"));
        Assert.Equal(5, Assert.Single(next).Version);
    }

    [Fact]
    public async Task Lifecycle_errors_of_the_server_become_the_clients_exceptions()
    {
        string stream = Unique("errors");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));

        var beyond = await Assert.ThrowsAsync<InvalidEventException>(() => Client.TruncateStreamAsync(stream, 10));
        Assert.Equal(EventflowDbErrorCodes.Invalid, beyond.ErrorCode);
        var snapshot = await Assert.ThrowsAsync<InvalidEventException>(
            () => Client.SaveSnapshotAsync(stream, 5, new AccountState("ada", 1m, ["x"]), LifecycleJsonContext.Default.AccountState));
        Assert.Equal(EventflowDbErrorCodes.Invalid, snapshot.ErrorCode);
        var gap = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => Client.DeleteStreamAsync(stream, ExpectedVersion.Exact(7)));
        Assert.Equal((ExpectedVersion.Exact(7), 2L), (gap.ExpectedVersion, gap.ActualVersion));
        Assert.Equal(2, await Client.ReadStreamAsync(stream).CountAllAsync());

        string never = Unique("never-written");
        await Assert.ThrowsAsync<InvalidEventException>(() => Client.DeleteStreamAsync(never));
        await Assert.ThrowsAsync<InvalidEventException>(() => Client.TruncateStreamAsync(never, 0));
        await Assert.ThrowsAsync<InvalidEventException>(() => Client.ForgetStreamAsync(never));
        await Assert.ThrowsAsync<InvalidEventException>(() => Client.SetStreamMetadataAsync(never, 1, null));
        await Assert.ThrowsAsync<InvalidEventException>(() => Client.SaveSnapshotAsync(never, 0, new AccountState("ada", 1m, []), LifecycleJsonContext.Default.AccountState));
        Assert.Equal(new StreamMetadata(never, null, null, 0, false, 0, 0), await Client.GetStreamMetadataAsync(never));
    }

    [Fact]
    public async Task Stream_metadata_limits_are_set_read_back_and_hide_older_events()
    {
        string stream = Unique("meta");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(5));
        Assert.Equal(new StreamMetadata(stream, null, null, 0, false, 0, 5), await Client.GetStreamMetadataAsync(stream));

        var set = await Client.SetStreamMetadataAsync(stream, 2, TimeSpan.FromHours(1));
        Assert.Equal(new StreamMetadata(stream, 2, TimeSpan.FromHours(1), 0, false, 0, 5), set);
        Assert.Equal(set, await Client.GetStreamMetadataAsync(stream));
        Assert.Equal([3L, 4L], (await Client.ReadStreamAsync(stream).CollectAsync()).Select(e => e.Version));

        var lifted = await Client.SetStreamMetadataAsync(stream, null, null);
        Assert.Null(lifted.MaxCount);
        Assert.Null(lifted.MaxAge);
    }

    [Fact]
    public async Task A_stream_with_max_age_stops_returning_events_older_than_it()
    {
        string stream = Unique("aged");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));
        await Task.Delay(1_200);
        var young = System.Diagnostics.Stopwatch.StartNew();
        await Client.AppendAsync(stream, ExpectedVersion.Exact(2), Numbered(1, first: 2));

        await Client.SetStreamMetadataAsync(stream, null, TimeSpan.FromSeconds(1));
        var versions = (await Client.ReadStreamAsync(stream).CollectAsync()).Select(e => e.Version).ToList();

        // Versions 0 and 1 are more than a second old for sure; version 2 is still young unless the machine stalled.
        Assert.DoesNotContain(0L, versions);
        Assert.DoesNotContain(1L, versions);
        if (young.Elapsed < TimeSpan.FromMilliseconds(900))
        {
            Assert.Equal([2L], versions);
        }

        Assert.Equal(TimeSpan.FromSeconds(1), (await Client.GetStreamMetadataAsync(stream)).MaxAge);
    }

    [Fact]
    public async Task Subscriptions_and_groups_skip_deleted_events_and_deliver_forgotten_ones_without_data()
    {
        string deleted = $"gone{Guid.NewGuid():N}-1";
        string forgotten = Unique("forgot");
        await Client.AppendAsync(deleted, ExpectedVersion.NoStream, Numbered(2));
        var kept = await Client.AppendAsync(forgotten, ExpectedVersion.NoStream, Numbered(2));
        await Client.DeleteStreamAsync(deleted);
        await Client.ForgetStreamAsync(forgotten);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var caughtUp = await Client.SubscribeAsync(Channels.Stream(forgotten), NUlid.Ulid.Empty, stop.Token).TakeAsync(2, stop.Token);
        Assert.Equal(kept.Select(e => e.Id), caughtUp.Select(e => e.Id));
        Assert.All(caughtUp, e => Assert.True(e.Forgotten));

        // A group on the deleted stream's category gets only the category's other events.
        string category = deleted[..deleted.IndexOf('-', StringComparison.Ordinal)];
        string sibling = $"{category}-{Guid.NewGuid():N}";
        var visible = await Client.AppendAsync(sibling, ExpectedVersion.NoStream, Numbered(1));
        string group = Unique("group");
        await Client.CreateGroupAsync(group, Channels.Category(category));
        var delivered = await Client.ReadGroupAsync(group, "c1", count: 1000);
        Assert.Equal([visible[0].Id], delivered.Select(e => e.Id));
        await Client.DeleteGroupAsync(group);
    }

    [Fact]
    public async Task CompactAsync_runs_a_compaction_and_forgotten_events_read_the_same_afterwards()
    {
        string forgotten = Unique("compact");
        await Client.AppendAsync(forgotten, ExpectedVersion.NoStream, Numbered(3));
        await Client.ForgetStreamAsync(forgotten);
        var before = await Client.ReadStreamAsync(forgotten).CollectAsync();
        var checksum = await Client.GetChecksumAsync();

        var size = await Client.CompactAsync();

        Assert.True(size.BytesBefore > 0 && size.BytesAfter > 0);
        var after = await Client.ReadStreamAsync(forgotten).CollectAsync();
        Assert.Equal(before.Select(e => (e.Id, e.Version, e.Forgotten)), after.Select(e => (e.Id, e.Version, e.Forgotten)));
        Assert.All(after, e => Assert.True(e.Forgotten));
        Assert.Equal(checksum, await Client.GetChecksumAsync());
    }

    [Fact]
    public async Task A_typed_snapshot_round_trips_and_the_latest_one_wins()
    {
        string stream = Unique("snap");
        Assert.Null(await Client.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState));
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(4));
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);

        var first = new AccountState("Ada", 12.5m, ["savings", "eur"]);
        await Client.SaveSnapshotAsync(stream, 1, first, LifecycleJsonContext.Default.AccountState);
        var read = await Client.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState);
        Assert.NotNull(read);
        Assert.Equal(stream, read.Stream);
        Assert.Equal(1, read.Version);
        Assert.Equal(first.Owner, read.State.Owner);
        Assert.Equal(first.Balance, read.State.Balance);
        Assert.Equal(first.Tags, read.State.Tags);
        Assert.InRange(read.AddedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));

        var second = new AccountState("Ada", 99m, []);
        await Client.SaveSnapshotAsync(stream, 3, second, LifecycleJsonContext.Default.AccountState);
        var latest = await Client.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState);
        Assert.Equal((3L, 99m), (latest!.Version, latest.State.Balance));

        // The reflection-based overloads read and write the same JSON (camelCase by default).
        var reflected = await Client.GetSnapshotAsync<AccountState>(stream);
        Assert.Equal(99m, reflected!.State.Balance);
        await Client.SaveSnapshotAsync(stream, 3, new AccountState("Bob", 1m, []));
        Assert.Equal("Bob", (await Client.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState))!.State.Owner);
    }

    [Fact]
    public async Task Nil_replies_read_the_same_over_RESP3()
    {
        await using var resp3 = await Connect.ClientAsync(Server, "protocol=resp3");
        string stream = Unique("resp3");
        Assert.Null(await resp3.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState));
        Assert.Equal(new StreamMetadata(stream, null, null, 0, false, 0, 0), await resp3.GetStreamMetadataAsync(stream));

        await resp3.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));
        await resp3.SaveSnapshotAsync(stream, 1, new AccountState("Ada", 3m, []), LifecycleJsonContext.Default.AccountState);
        Assert.Equal(1, (await resp3.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState))!.Version);
        Assert.Equal(3, (await resp3.SetStreamMetadataAsync(stream, 3, null)).MaxCount);
        await resp3.DeleteStreamAsync(stream, ExpectedVersion.Exact(2));
        Assert.True((await resp3.GetStreamMetadataAsync(stream)).Deleted);
    }

    [Fact]
    public async Task Delete_drops_the_snapshot_of_the_stream()
    {
        string stream = Unique("snap-deleted");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));
        await Client.SaveSnapshotAsync(stream, 1, new AccountState("Ada", 1m, []), LifecycleJsonContext.Default.AccountState);

        await Client.DeleteStreamAsync(stream);

        Assert.Null(await Client.GetSnapshotAsync(stream, LifecycleJsonContext.Default.AccountState));
    }

    [Fact]
    public async Task A_forgotten_stream_keeps_its_events_identity_without_data_or_metadata_and_the_checksum_holds()
    {
        string stream = Unique("forget");
        var deposit = new Deposited(10m, "EUR", DateTimeOffset.UnixEpoch);
        var stored = await Client.AppendAsync(stream, ExpectedVersion.NoStream, [
            EventData.Create("Deposited", deposit, TestJsonContext.Default.Deposited) with { Metadata = JsonPayload.Serialize(new AuditMetadata("ada", "10.0.0.1"), TestJsonContext.Default.AuditMetadata) },
            EventData.FromJson("Renamed", """{"newName":"Ada L."}"""),
        ]);
        string other = Unique("kept");
        await Client.AppendAsync(other, ExpectedVersion.NoStream, Numbered(1));
        var checksum = await Client.GetChecksumAsync();

        await Client.ForgetStreamAsync(stream);

        var read = await Client.ReadStreamAsync(stream).CollectAsync();
        Assert.Equal(2, read.Count);
        for (int i = 0; i < read.Count; i++)
        {
            Assert.True(read[i].Forgotten);
            Assert.Equal((stored[i].Id, stored[i].Position, stored[i].Version, stored[i].Type), (read[i].Id, read[i].Position, read[i].Version, read[i].Type));
            Assert.Equal("null", read[i].GetDataJson());
            Assert.Null(read[i].Metadata);
        }

        Assert.Throws<InvalidOperationException>(() => read[0].Deserialize(TestJsonContext.Default.Deposited));
        Assert.All((await Client.ReadAllAsync().CollectAsync()).Where(e => e.Stream == stream), e => Assert.True(e.Forgotten));
        Assert.False(Assert.Single(await Client.ReadStreamAsync(other).CollectAsync()).Forgotten);
        Assert.Equal(checksum, await Client.GetChecksumAsync());
        Assert.Equal(2, (await Client.GetStreamMetadataAsync(stream)).ForgottenBefore);
    }

    [Fact]
    public async Task A_retried_append_of_forgotten_events_answers_with_them_as_forgotten_and_writes_nothing()
    {
        string stream = Unique("forget-retry");
        var append = EventData.FromJson("Registered", """{"email":"ada@example.com"}""") with { MessageId = "register-1" };
        var first = await Client.AppendAsync(stream, ExpectedVersion.NoStream, append);
        await Client.ForgetStreamAsync(stream);

        var retried = Assert.Single(await Client.AppendAsync(stream, ExpectedVersion.NoStream, append));

        Assert.Equal(first[0].Id, retried.Id);
        Assert.True(retried.Forgotten);
        Assert.Equal("null", retried.GetDataJson());
        Assert.Equal("register-1", retried.MessageId);
        Assert.Equal(1, await Client.ReadStreamAsync(stream).CountAllAsync());
    }
}

/// <summary>A typed aggregate state for the snapshot tests.</summary>
/// <param name="Owner">The owner.</param>
/// <param name="Balance">The balance.</param>
/// <param name="Tags">Some tags.</param>
public sealed record AccountState(string Owner, decimal Balance, IReadOnlyList<string> Tags);

/// <summary>Source-generated contract of <see cref="AccountState"/>.</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AccountState))]
public sealed partial class LifecycleJsonContext : JsonSerializerContext;
