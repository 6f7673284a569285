using EventflowDb.Client.Tests.Support;
using NUlid;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Every client method over RESP2 and RESP3 connections.</summary>
public sealed class ProtocolTests(ClientFixture fixture, ITestOutputHelper output)
    : ClientTest<ClientFixture>(fixture, output), IClassFixture<ClientFixture>
{
    [Theory]
    [InlineData("protocol=resp2", RedisProtocol.Resp2)]
    [InlineData("protocol=resp3", RedisProtocol.Resp3)]
    public async Task Every_method_works_over_both_protocols(string extra, RedisProtocol expected)
    {
        await using var client = await Connect.ClientAsync(Server, extra);
        var server = client.Multiplexer.GetServer(client.Multiplexer.GetEndPoints().Single());
        Assert.Equal(expected, server.Protocol);

        string stream = Unique(expected.ToString());
        var stored = await client.AppendAsync(stream, ExpectedVersion.NoStream, [EventData.FromJson("A", """{"x":1}""") with { Metadata = "[1]"u8.ToArray() }, EventData.FromJson("B", "\"b\"")]);
        Assert.Equal(2, stored.Count);
        Assert.Equal(stored.Select(e => e.Id), (await client.ReadStreamAsync(stream, pageSize: 1).CollectAsync()).Select(e => e.Id));
        Assert.Equal("[1]", (await client.ReadStreamAsync(stream).CollectAsync())[0].GetMetadataJson());
        Assert.Equal([stored[1].Id], (await client.ReadAllAsync(stored[0].Id).CollectAsync()).Where(e => e.Stream == stream).Select(e => e.Id));
        Assert.Contains(await client.ListStreamsAsync(pageSize: 2).CollectAsync(), s => s.Stream == stream && s.EventCount == 2);

        Assert.NotEqual(Ulid.Empty, (await client.GetChecksumAsync()).LastEventId);
        Assert.True(await client.GetEventCountAsync() >= 2);
        Assert.True(await client.GetStreamCountAsync() >= 1);
        Assert.True(await client.GetEventCountEstimateAsync() >= 0);
        Assert.True(await client.GetStreamCountEstimateAsync() >= 0);
        Assert.False(string.IsNullOrEmpty((await client.GetSizeAsync()).Text));
        Assert.False(string.IsNullOrEmpty((await client.GetUptimeAsync()).Text));
        Assert.False(string.IsNullOrEmpty(await client.GetServerVersionAsync()));
        await client.PingAsync();

        var conflict = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => client.AppendAsync(stream, ExpectedVersion.NoStream, EventData.FromJson("C", "{}")));
        Assert.Equal(2, conflict.ActualVersion);
    }
}
