using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Limits;

/// <summary>
/// SPEC.md v2 "Limits", cross-protocol: HTTP sent to the RESP port (a browser tricked into posting to it) closes the
/// connection before anything it sent runs, and is logged, as Redis does for POST and Host:.
/// </summary>
public sealed class CrossProtocolTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /index.html HTTP/1.0\r\n\r\n")]
    [InlineData("PUT /x HTTP/1.1\r\n")]
    [InlineData("Host: 127.0.0.1\r\n")]
    [InlineData("*2\r\n$4\r\npost\r\n$1\r\n/\r\n")]
    public async Task Http_on_the_resp_port_closes_the_connection_before_anything_runs(string http)
    {
        string stream = Unique("http");
        StoreState before;
        await using (var c = await Server.OpenRawAsync())
        {
            before = await StoreState.ReadAsync(c);
        }

        await using (var c = await Server.OpenRawAsync())
        {
            await c.SendAsync($"{http}ADD {stream} any T {{}}\r\n");
            Assert.True(await c.WaitForCloseAsync(Wait), "the connection stayed open");
        }

        await using var check = await Server.OpenRawAsync();
        Assert.Empty(await check.EventsAsync("GET", stream));
        Assert.Equal(before, await StoreState.ReadAsync(check));

        // The same ADD on its own is stored, and an inline GET (our own command) is no HTTP.
        await check.SendAsync($"ADD {stream} any T {{}}\r\n");
        Assert.False((await check.ReadReplyAsync()).IsError());
        await check.SendAsync($"GET {stream} 0 10\r\n");
        Assert.Single((await check.ReadReplyAsync()).Arr());
        Assert.Contains("Possible SECURITY ATTACK", Server.Output, StringComparison.Ordinal);
    }
}
