using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using NUlid;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary><see cref="EventflowDbClient.SubscribeAsync"/>: catch-up, live delivery, resuming after restarts, cancellation.</summary>
public sealed class SubscriptionTests(ITestOutputHelper output) : IntegrationTest(output)
{
    /// <summary>A guard against a hung test only; no assertion depends on it.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_subscription_sees_exactly_the_channels_events_in_order_while_writers_write_concurrently()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("order-0", ExpectedVersion.Any, EventData.FromJson("Placed", "{}"));
        using var guard = new CancellationTokenSource(HangGuard);

        const int Writers = 4;
        const int PerWriter = 40;
        var all = client.SubscribeAsync(Channels.All, Ulid.Empty, guard.Token).TakeAsync(1 + (2 * Writers * PerWriter), guard.Token);
        var orders = client.SubscribeAsync(Channels.Category("order"), Ulid.Empty, guard.Token).TakeAsync(1 + (Writers * PerWriter), guard.Token);
        var shipped = client.SubscribeAsync(Channels.Type("Shipped"), Ulid.Empty, guard.Token).TakeAsync(Writers * PerWriter / 2, guard.Token);
        var oneStream = client.SubscribeAsync(Channels.Stream("order-1"), Ulid.Empty, guard.Token).TakeAsync(PerWriter, guard.Token);

        await Task.WhenAll(Enumerable.Range(1, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                await client.AppendAsync($"order-{w}", ExpectedVersion.Any, EventData.FromJson(i % 2 == 0 ? "Shipped" : "Paid", $"{i}"));
                await client.AppendAsync($"invoice-{w}", ExpectedVersion.Any, EventData.FromJson("Issued", $"{i}"));
            }
        })));

        var log = await client.ReadAllAsync().CollectAsync();
        Assert.Equal(Ids(log), Ids(await all));
        Assert.Equal(Ids(log.Where(e => e.Stream.StartsWith("order-", StringComparison.Ordinal))), Ids(await orders));
        Assert.Equal(Ids(log.Where(e => e.Type == "Shipped")), Ids(await shipped));
        Assert.Equal(Ids(log.Where(e => e.Stream == "order-1")), Ids(await oneStream));
    }

    [Fact]
    public async Task A_subscription_from_an_id_delivers_the_events_after_it_then_live_events()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server, options: new EventflowDbClientOptions { PageSize = 3 });
        var stored = await client.AppendAsync("from-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 10).Select(i => EventData.FromJson("T", $"{i}"))]);
        using var guard = new CancellationTokenSource(HangGuard);

        await using var subscription = client.SubscribeAsync(Channels.Stream("from-1"), stored[3].Id, guard.Token).GetAsyncEnumerator(guard.Token);
        var seen = new List<long>();
        for (int i = 0; i < 6; i++)
        {
            Assert.True(await subscription.MoveNextAsync());
            seen.Add(subscription.Current.Version);
        }

        Assert.Equal([4L, 5, 6, 7, 8, 9], seen);

        var next = subscription.MoveNextAsync().AsTask();
        var live = await client.AppendAsync("from-1", ExpectedVersion.Exact(10), EventData.FromJson("Live", "{}"));
        Assert.True(await next);
        Assert.Equal(live[0].Id, subscription.Current.Id);
        Assert.Equal(10, subscription.Current.Version);
    }

    [Fact]
    public async Task A_subscription_from_the_start_or_from_an_unknown_id_reads_the_history()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        var stored = await client.AppendAsync("start-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 5).Select(i => EventData.FromJson("T", $"{i}"))]);
        using var guard = new CancellationTokenSource(HangGuard);

        Assert.Equal(Ids(stored), Ids(await client.SubscribeAsync(Channels.All, Ulid.Empty, guard.Token).TakeAsync(5, guard.Token)));

        // An id that is not stored works too: the events with a greater id follow.
        var before = Ulid.NewUlid(stored[0].AddedAt.AddDays(-1));
        Assert.Equal(Ids(stored), Ids(await client.SubscribeAsync(Channels.All, before, guard.Token).TakeAsync(5, guard.Token)));
    }

    [Fact]
    public async Task A_subscription_from_now_delivers_only_events_committed_after_it_started()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        var old = await client.AppendAsync("now-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 5).Select(i => EventData.FromJson("Old", $"{i}"))]);
        using var guard = new CancellationTokenSource(HangGuard);

        await using var subscription = client.SubscribeAsync(Channels.All, cancellationToken: guard.Token).GetAsyncEnumerator(guard.Token);
        var first = subscription.MoveNextAsync().AsTask();

        // The subscription starts on the first MoveNextAsync; append until it has seen a new event.
        var appended = new List<RecordedEvent>();
        for (int i = 0; !first.IsCompleted; i++)
        {
            appended.AddRange(await client.AppendAsync("now-1", ExpectedVersion.Any, EventData.FromJson("New", $"{i}")));
            await Task.WhenAny(first, Task.Delay(20, guard.Token));
        }

        Assert.True(await first);
        var delivered = new List<RecordedEvent> { subscription.Current };
        Assert.Equal("New", subscription.Current.Type);
        Assert.True(subscription.Current.Id.CompareTo(old[^1].Id) > 0);

        // After the first one, every later event, in order, and nothing else.
        int start = appended.FindIndex(e => e.Id == delivered[0].Id);
        Assert.True(start >= 0);
        var expected = appended[start..];
        while (delivered.Count < expected.Count)
        {
            Assert.True(await subscription.MoveNextAsync());
            delivered.Add(subscription.Current);
        }

        Assert.Equal(Ids(expected), Ids(delivered));
        var last = await client.AppendAsync("now-2", ExpectedVersion.Any, EventData.FromJson("Last", "{}"));
        Assert.True(await subscription.MoveNextAsync());
        Assert.Equal(last[0].Id, subscription.Current.Id);
    }

    [Fact]
    public async Task A_subscription_survives_a_kill_and_a_graceful_restart_without_gap_or_duplicate()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server, options: new EventflowDbClientOptions { PageSize = 10 });
        await client.AppendAsync("restart-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 300).Select(i => EventData.FromJson("Before", $"{i}"))]);
        using var guard = new CancellationTokenSource(HangGuard);

        var delivered = new List<RecordedEvent>();
        await foreach (var e in client.SubscribeAsync(Channels.Stream("restart-1"), Ulid.Empty, guard.Token))
        {
            delivered.Add(e);
            if (delivered.Count == 100)
            {
                // Mid catch-up: crash the server, start it again, and write more while the subscription reconnects.
                await server.KillAsync();
                await server.RestartAsync();
                await client.AppendAsync("restart-1", ExpectedVersion.Exact(300), [.. Enumerable.Range(0, 50).Select(i => EventData.FromJson("AfterKill", $"{i}"))]);
            }
            else if (delivered.Count == 340)
            {
                await server.RestartAsync(); // graceful stop (SIGTERM) and start
                await client.AppendAsync("restart-1", ExpectedVersion.Exact(350), [.. Enumerable.Range(0, 50).Select(i => EventData.FromJson("AfterRestart", $"{i}"))]);
            }
            else if (delivered.Count == 400)
            {
                break;
            }
        }

        var stream = await client.ReadStreamAsync("restart-1").CollectAsync();
        Assert.Equal(400, stream.Count);
        Assert.Equal(Ids(stream), Ids(delivered));
        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), delivered.Select(e => e.Version));
    }

    [Fact]
    public async Task A_live_subscription_waits_through_a_server_restart_and_delivers_what_follows()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        using var guard = new CancellationTokenSource(HangGuard);
        var first = await client.AppendAsync("live-1", ExpectedVersion.NoStream, EventData.FromJson("A", "{}"));

        await using var subscription = client.SubscribeAsync(Channels.All, first[0].Id, guard.Token).GetAsyncEnumerator(guard.Token);
        var waiting = subscription.MoveNextAsync().AsTask(); // a long-poll read waits on the server

        await server.KillAsync();
        await server.RestartAsync();
        var second = await client.AppendAsync("live-1", ExpectedVersion.Exact(1), EventData.FromJson("B", "{}"));

        Assert.True(await waiting);
        Assert.Equal(second[0].Id, subscription.Current.Id);
    }

    [Fact]
    public async Task Cancelling_ends_a_waiting_subscription_at_once_and_closes_its_connection()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("cancel-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 3).Select(i => EventData.FromJson("T", $"{i}"))]);

        using var cts = new CancellationTokenSource();
        var seen = new List<long>();
        var run = Task.Run(async () =>
        {
            await foreach (var e in client.SubscribeAsync(Channels.All, Ulid.Empty, cts.Token))
            {
                seen.Add(e.Version);
                if (seen.Count == 3)
                {
                    await cts.CancelAsync(); // the next MoveNextAsync would wait for a new event
                }
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal([0L, 1, 2], seen);

        // A token cancelled before the first MoveNextAsync sends nothing.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.SubscribeAsync(Channels.All, null, cts.Token).CollectAsync());

        await client.PingAsync();
    }

    [Fact]
    public async Task Cancelling_a_subscription_that_waits_for_new_events_returns_without_waiting_for_the_server()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        using var cts = new CancellationTokenSource();

        await using var subscription = client.SubscribeAsync(Channels.All, cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token);
        var waiting = subscription.MoveNextAsync().AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task A_rare_channel_behind_more_than_the_servers_scan_budget_of_other_events_is_still_delivered()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        for (int batch = 0; batch < 101; batch++)
        {
            await client.AppendAsync("noise-1", ExpectedVersion.Any, [.. Enumerable.Range(0, 1000).Select(_ => EventData.FromJson("N", "0"))]);
        }

        var rare = await client.AppendAsync("rare-1", ExpectedVersion.NoStream, EventData.FromJson("Rare", "{}"));
        using var guard = new CancellationTokenSource(HangGuard);

        var delivered = await client.SubscribeAsync(Channels.Type("Rare"), Ulid.Empty, guard.Token).TakeAsync(1, guard.Token);
        Assert.Equal(rare[0].Id, Assert.Single(delivered).Id);
    }

    [Fact]
    public async Task Invalid_channels_are_rejected()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);

        Assert.Throws<ArgumentException>(() => client.SubscribeAsync("orders"));
        Assert.Throws<ArgumentException>(() => client.SubscribeAsync("stream:"));
        Assert.Throws<ArgumentException>(() => client.SubscribeAsync("queue:x"));
        Assert.Equal("$all", Channels.All);
        Assert.Equal("stream:a-1", Channels.Stream("a-1"));
        Assert.Equal("category:a", Channels.Category("a"));
        Assert.Equal("type:Opened", Channels.Type("Opened"));
    }

    private static List<Ulid> Ids(IEnumerable<RecordedEvent> events) => [.. events.Select(e => e.Id)];
}
