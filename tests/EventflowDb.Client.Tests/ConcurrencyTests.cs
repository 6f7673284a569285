using EventflowDb.Client.Tests.Support;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Optimistic concurrency between two clients (two connections) writing to the same stream.</summary>
public sealed class ConcurrencyTests(ClientFixture fixture, ITestOutputHelper output)
    : ClientTest<ClientFixture>(fixture, output), IClassFixture<ClientFixture>
{
    [Fact]
    public async Task A_writer_with_a_stale_version_gets_WrongExpectedVersion_with_the_actual_version()
    {
        await using var first = await Connect.ClientAsync(Server);
        await using var second = await Connect.ClientAsync(Server);
        string stream = Unique("stale");
        await first.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(2));

        long seenByFirst = await first.ReadStreamAsync(stream).CountAllAsync();
        long seenBySecond = await second.ReadStreamAsync(stream).CountAllAsync();
        Assert.Equal(seenByFirst, seenBySecond);

        await first.AppendAsync(stream, ExpectedVersion.Exact(seenByFirst), EventData.FromJson("ByFirst", "{}"));
        var conflict = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => second.AppendAsync(stream, ExpectedVersion.Exact(seenBySecond), EventData.FromJson("BySecond", "{}")));

        Assert.Equal(ExpectedVersion.Exact(2), conflict.ExpectedVersion);
        Assert.Equal(3, conflict.ActualVersion);
        Assert.Equal(stream, conflict.Stream);

        // Retrying with the actual version succeeds.
        await second.AppendAsync(stream, ExpectedVersion.Exact(conflict.ActualVersion!.Value), EventData.FromJson("BySecond", "{}"));
        Assert.Equal(["Numbered", "Numbered", "ByFirst", "BySecond"], (await Client.ReadStreamAsync(stream).CollectAsync()).Select(e => e.Type));
    }

    [Fact]
    public async Task Of_two_simultaneous_appends_at_the_same_version_exactly_one_wins()
    {
        await using var first = await Connect.ClientAsync(Server);
        await using var second = await Connect.ClientAsync(Server);
        for (int round = 0; round < 5; round++)
        {
            string stream = Unique("race");
            await first.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(1));
            var outcomes = await Task.WhenAll(
                Outcome(first.AppendAsync(stream, ExpectedVersion.Exact(1), EventData.FromJson("First", "{}"))),
                Outcome(second.AppendAsync(stream, ExpectedVersion.Exact(1), EventData.FromJson("Second", "{}"))));

            Assert.Single(outcomes, o => o.Stored is not null);
            var loser = Assert.Single(outcomes, o => o.Conflict is not null).Conflict!;
            Assert.Equal(ExpectedVersion.Exact(1), loser.ExpectedVersion);
            Assert.Equal(2, loser.ActualVersion);
            var read = await Client.ReadStreamAsync(stream).CollectAsync();
            Assert.Equal(2, read.Count);
            Assert.Equal(outcomes.Single(o => o.Stored is not null).Stored!.Id, read[1].Id);
        }
    }

    [Fact]
    public async Task Two_clients_incrementing_with_reload_and_retry_lose_no_update()
    {
        await using var first = await Connect.ClientAsync(Server);
        await using var second = await Connect.ClientAsync(Server);
        string stream = Unique("counter");
        const int perClient = 15;
        int[] conflicts = new int[2];

        await Task.WhenAll(IncrementAsync(first, 0), IncrementAsync(second, 1));

        var read = await Client.ReadStreamAsync(stream).CollectAsync();
        Assert.Equal(2 * perClient, read.Count);
        Assert.Equal(Enumerable.Range(0, 2 * perClient).Select(i => (long)i), read.Select(e => e.Version));
        Assert.Equal(perClient, read.Count(e => e.Type == "Inc0"));
        Assert.Equal(perClient, read.Count(e => e.Type == "Inc1"));
        Output($"conflicts: {conflicts[0]} + {conflicts[1]}");

        async Task IncrementAsync(EventflowDbClient client, int who)
        {
            for (int i = 0; i < perClient; i++)
            {
                while (true)
                {
                    long version = await client.ReadStreamAsync(stream).CountAllAsync();
                    try
                    {
                        await client.AppendAsync(stream, ExpectedVersion.Exact(version), EventData.FromJson($"Inc{who}", "{}"));
                        break;
                    }
                    catch (WrongExpectedVersionException e)
                    {
                        Assert.True(e.ActualVersion > version, $"a conflict must report a newer version than {version}: {e.Message}");
                        conflicts[who]++;
                    }
                }
            }
        }
    }

    private void Output(string line) => TestOutput.WriteLine(line);

    private static async Task<(RecordedEvent? Stored, WrongExpectedVersionException? Conflict)> Outcome(Task<IReadOnlyList<RecordedEvent>> append)
    {
        try
        {
            return (Assert.Single(await append), null);
        }
        catch (WrongExpectedVersionException e)
        {
            return (null, e);
        }
    }
}
