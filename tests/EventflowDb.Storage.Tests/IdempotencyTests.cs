using System.Text;
using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

public sealed class IdempotencyTests
{
    [Fact]
    public async Task Full_duplicate_returns_the_first_events_whatever_the_expected_version()
    {
        await using var t = await TestStore.CreateAsync();
        var first = await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event(messageId: "a"), TestStore.Event(messageId: "b"));
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());

        var again = await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event(messageId: "b", data: "{\"other\":true}"), TestStore.Event(messageId: "a"));
        Assert.Equal(AppendStatus.Duplicate, again.Status);
        Assert.Equal(3, again.StreamCount);
        Assert.Equal(
            new[] { first.Events[1], first.Events[0] }.Select(e => Encoding.UTF8.GetString(e.Span)),
            again.Events.Select(e => Encoding.UTF8.GetString(e.Span)));
        Assert.Equal(3, t.Store.EventCount);
    }

    [Fact]
    public async Task Partial_duplicate_writes_nothing_and_ids_are_per_stream()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "a"));
        var partial = await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "a"), TestStore.Event(messageId: "new"));
        Assert.Equal(AppendStatus.PartialDuplicate, partial.Status);
        var mixed = await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "a"), TestStore.Event());
        Assert.Equal(AppendStatus.PartialDuplicate, mixed.Status);
        Assert.Equal(1, t.Store.EventCount);

        // The same message id on another stream is a different key.
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("other", ExpectedVersion.Any, TestStore.Event(messageId: "a"))).Status);
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "new"))).Status);
    }

    [Fact]
    public async Task In_flight_message_ids_count_as_stored()
    {
        await using var t = await TestStore.CreateAsync();
        var first = t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "x"));
        var second = t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "x"));
        var results = await Task.WhenAll(first, second);
        Assert.Equal(AppendStatus.Appended, results[0].Status);
        Assert.Equal(AppendStatus.Duplicate, results[1].Status);
        Assert.Equal(results[0].Events[0].ToArray(), results[1].Events[0].ToArray());
        Assert.Equal(1, t.Store.EventCount);
    }

    [Fact]
    public async Task Dedupe_survives_reopen_with_and_without_checkpoint()
    {
        await using var t = await TestStore.CreateAsync();
        var first = await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "before-checkpoint"));
        await t.Store.CheckpointAsync();
        var second = await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(messageId: "after-checkpoint"));
        await t.ReopenAsync();

        var dup1 = await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event(messageId: "before-checkpoint"));
        var dup2 = await t.AppendAsync("s", ExpectedVersion.NoStream, TestStore.Event(messageId: "after-checkpoint"));
        Assert.Equal(AppendStatus.Duplicate, dup1.Status);
        Assert.Equal(AppendStatus.Duplicate, dup2.Status);
        Assert.Equal(first.Events[0].ToArray(), dup1.Events[0].ToArray());
        Assert.Equal(second.Events[0].ToArray(), dup2.Events[0].ToArray());
        Assert.Equal(2, t.Store.EventCount);
    }
}
