using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Cancellation tokens: before a call, between pages of an enumeration, and while a reply is awaited.</summary>
public sealed class CancellationTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task A_token_cancelled_before_the_call_sends_nothing()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.AppendAsync("cancelled", ExpectedVersion.Any, EventData.FromJson("T", "{}"), cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetEventCountAsync(cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ReadAllAsync(cancellationToken: cts.Token).CollectAsync());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ListStreamsAsync().CollectAsync(cts.Token));

        Assert.Equal(0, await client.GetEventCountAsync());
        Assert.Empty(await client.ReadStreamAsync("cancelled").CollectAsync());
    }

    [Fact]
    public async Task Cancelling_an_enumeration_stops_it_at_the_next_event()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("paged", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 10).Select(i => EventData.FromJson("T", $"{i}"))]);

        using var cts = new CancellationTokenSource();
        var seen = new List<long>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in client.ReadStreamAsync("paged", pageSize: 3).WithCancellation(cts.Token))
            {
                seen.Add(e.Version);
                if (e.Version == 4)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal([0L, 1L, 2L, 3L, 4L], seen);

        using var cts2 = new CancellationTokenSource();
        seen.Clear();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in client.ReadAllAsync(pageSize: 2, cancellationToken: cts2.Token))
            {
                seen.Add(e.Position);
                await cts2.CancelAsync();
            }
        });
        Assert.Equal([0L], seen);
    }

    [Fact]
    public async Task Cancelling_while_the_reply_is_awaited_returns_at_once_and_the_client_keeps_working()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("frozen", ExpectedVersion.NoStream, EventData.FromJson("T", "{}"));

        using var cts = new CancellationTokenSource();
        Signals.Stop(server);
        try
        {
            var count = client.GetEventCountAsync(cts.Token);
            var read = client.ReadStreamAsync("frozen", cancellationToken: cts.Token).CollectAsync();
            await Connect.UntilInFlightAsync(client);
            Assert.False(count.IsCompleted, "the server is frozen: no reply can have arrived");
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => count);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        }
        finally
        {
            Signals.Continue(server);
        }

        Assert.Equal(1, await client.GetEventCountAsync());
        Assert.Single(await client.ReadStreamAsync("frozen").CollectAsync());
    }
}
