using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Server restarts and connection drops while an append is in flight.</summary>
public sealed class ResilienceTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task The_client_reconnects_by_itself_after_the_server_restarts()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("restart-1", ExpectedVersion.NoStream, EventData.FromJson("Before", "{}"));

        await server.RestartAsync();

        // No new client: the same instance works again once StackExchange.Redis has reconnected.
        Assert.Equal(["Before"], (await client.ReadStreamAsync("restart-1").CollectAsync()).Select(e => e.Type));
        await client.AppendAsync("restart-1", ExpectedVersion.Exact(1), EventData.FromJson("After", "{}"));
        Assert.Equal(["Before", "After"], (await client.ReadStreamAsync("restart-1").CollectAsync()).Select(e => e.Type));

        await server.KillAsync(); // and after a crash
        await server.RestartAsync();
        await client.AppendAsync("restart-1", ExpectedVersion.Exact(2), EventData.FromJson("AfterCrash", "{}"));
        Assert.Equal(3, await client.ReadStreamAsync("restart-1").CountAllAsync());
        Assert.Equal(3, await client.GetEventCountAsync());
    }

    [Fact]
    public async Task An_append_with_message_ids_is_retried_once_after_the_connection_drops_and_stored_once()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        await client.AppendAsync("retry-1", ExpectedVersion.NoStream, EventData.FromJson("First", "{}") with { MessageId = "first" });

        var append = await AppendWhileTheConnectionDropsAsync(
            server, client, "retry-1", ExpectedVersion.Exact(1), [EventData.FromJson("Second", "{}") with { MessageId = "second" }]);

        var stored = Assert.Single(await append);
        Assert.Equal(1, stored.Version);
        Assert.Equal("second", stored.MessageId);
        Assert.Equal(["First", "Second"], (await client.ReadStreamAsync("retry-1").CollectAsync()).Select(e => e.Type));

        // Repeating it yet again (as an application would after an unknown outcome) still stores it once.
        var repeated = Assert.Single(await client.AppendAsync("retry-1", ExpectedVersion.Exact(1), EventData.FromJson("Second", "{}") with { MessageId = "second" }));
        Assert.Equal(stored.Id, repeated.Id);
        Assert.Equal(2, await client.ReadStreamAsync("retry-1").CountAllAsync());
    }

    [Fact]
    public async Task An_append_without_message_ids_is_not_retried_and_reports_an_unknown_outcome()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);

        var append = await AppendWhileTheConnectionDropsAsync(
            server, client, "no-retry-1", ExpectedVersion.Any, [EventData.FromJson("A", "{}") with { MessageId = "a" }, EventData.FromJson("B", "{}")]);

        var failure = await Assert.ThrowsAsync<EventflowDbConnectionException>(() => append);
        Assert.Null(failure.ErrorCode);
        Assert.IsAssignableFrom<RedisException>(failure.InnerException);
        Assert.Contains("may or may not have been stored", failure.Message, StringComparison.Ordinal);

        await client.PingAsync(); // the client is usable again
    }

    [Theory]
    [InlineData("DELETE")]
    [InlineData("FORGET")]
    public async Task Delete_and_forget_are_not_retried_after_the_connection_drops_as_a_repeat_could_reach_later_events(string command)
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server);
        string stream = $"{command.ToLowerInvariant()}-no-retry";
        await client.AppendAsync(stream, ExpectedVersion.NoStream, EventData.FromJson("Personal", "{\"ssn\":1}"));

        var change = await WhileTheConnectionDropsAsync(server, client, () => command == "DELETE"
            ? client.DeleteStreamAsync(stream)
            : client.ForgetStreamAsync(stream));

        var failure = await Assert.ThrowsAsync<EventflowDbConnectionException>(() => change);
        Assert.Contains($"The {command} may or may not have been applied", failure.Message, StringComparison.Ordinal);
        Assert.Contains("1 attempt(s)", failure.Message, StringComparison.Ordinal);

        // The frozen server never read it and it was not sent again: an event added now stays visible and keeps its data.
        await client.AppendAsync(stream, ExpectedVersion.Exact(1), EventData.FromJson("Later", "{\"n\":2}"));
        var metadata = await client.GetStreamMetadataAsync(stream);
        Assert.Equal((false, 0L, 0L, 2L), (metadata.Deleted, metadata.TruncatedBefore, metadata.ForgottenBefore, metadata.NextVersion));
        Assert.All(await client.ReadStreamAsync(stream).CollectAsync(), e => Assert.False(e.Forgotten));
    }

    [Fact]
    public async Task Retries_can_be_turned_off()
    {
        var server = await StartServerAsync();
        await using var client = await Connect.ClientAsync(server, options: new EventflowDbClientOptions { ConnectionFailureRetries = 0 });

        var append = await AppendWhileTheConnectionDropsAsync(
            server, client, "off-1", ExpectedVersion.Any, [EventData.FromJson("A", "{}") with { MessageId = "a" }]);

        await Assert.ThrowsAsync<EventflowDbConnectionException>(() => append);
        Assert.Single(await client.AppendAsync("off-1", ExpectedVersion.Any, EventData.FromJson("A", "{}") with { MessageId = "a" }));
        Assert.Equal(1, await client.ReadStreamAsync("off-1").CountAllAsync());
    }

    /// <summary>Like <see cref="AppendWhileTheConnectionDropsAsync"/>, for any command.</summary>
    private static async Task<Task> WhileTheConnectionDropsAsync(ServerProcess server, EventflowDbClient client, Func<Task> start)
    {
        Signals.Stop(server);
        Task pending;
        try
        {
            pending = start();
            await Connect.UntilInFlightAsync(client);
        }
        finally
        {
            await server.KillAsync();
        }

        await server.RestartAsync();
        return pending;
    }

    /// <summary>
    /// Freezes the server, starts the append, waits until it is on the wire, then kills the server (the frozen process
    /// never read it) and starts it again: the append's connection drops while the append awaits its reply.
    /// </summary>
    private static async Task<Task<IReadOnlyList<RecordedEvent>>> AppendWhileTheConnectionDropsAsync(
        ServerProcess server, EventflowDbClient client, string stream, ExpectedVersion expected, EventData[] events)
    {
        Signals.Stop(server);
        Task<IReadOnlyList<RecordedEvent>> append;
        try
        {
            append = client.AppendAsync(stream, expected, events);
            await Connect.UntilInFlightAsync(client);
        }
        finally
        {
            await server.KillAsync();
        }

        await server.RestartAsync();
        return append;
    }
}
