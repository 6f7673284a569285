using System.Text;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>
/// COMPACT over the wire on a real server: after FORGET no byte of the forgotten data or metadata remains in any file of
/// the data directory, CHECKSUM and every read are the same before and after (and after a restart), and efdb verify passes.
/// </summary>
public sealed class CompactCommandTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string Marker = "Kx3UniqueGdprMarker7Qw";

    private static List<string> FilesHolding(string directory, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)];
    }

    private static async Task<List<string>> ViewAsync(ServerProcess server, string stream)
    {
        await using var c = await server.OpenRawAsync();
        var view = new List<string> { (await StoreState.ReadAsync(c)).ToString() };
        view.AddRange((await c.ReadWholeLogAsync()).Select(e => e.Raw));
        view.AddRange((await c.EventsAsync("GET", stream)).Select(e => e.Raw));
        view.Add((await c.CommandAsync("SNAPSHOT", "GET", stream)).Text ?? "nil");
        return view;
    }

    [Fact]
    public async Task Forget_then_COMPACT_removes_every_forgotten_byte_and_keeps_checksum_reads_and_verify()
    {
        var server = await StartServerAsync();
        string stream = Unique("person");
        await using (var c = await server.OpenRawAsync())
        {
            await c.AddAsync(Unique("other"), 5);
            for (int i = 0; i < 10; i++)
            {
                string json = $$"""{"stream":"{{stream}}","version":"any","events":[{"type":"Named","data":{"name":"{{Marker}}-{{i}}"},"metadata":{"ip":"{{Marker}}"},"message_id":"msg-{{i}}"}]}""";
                await c.EventsAsync("ADD", json);
            }

            await c.OkAsync("SNAPSHOT", "SAVE", stream, "5", $$"""{"state":"{{Marker}}"}""");
            await c.OkAsync("FORGET", stream);
            await c.AddAsync(Unique("other"), 5);
        }

        var before = await ViewAsync(server, stream);
        Assert.NotEmpty(FilesHolding(server.DataDirectory, Marker));

        await using (var c = await server.OpenRawAsync())
        {
            var reply = (await c.CommandAsync("COMPACT")).Arr();
            Assert.Equal(2, reply.Count);
            Assert.True(reply[0].Int() > 0 && reply[1].Int() > 0);
            Assert.StartsWith("ERR", await c.ErrorAsync("COMPACT", "now"), StringComparison.Ordinal);

            // The message ids of forgotten events are still known: the same ADD is a duplicate.
            string again = $$"""{"stream":"{{stream}}","version":"any","events":[{"type":"Named","data":{},"message_id":"msg-3"}]}""";
            var duplicate = await c.EventsAsync("ADD", again);
            Assert.Equal(3, Assert.Single(duplicate).Version);
        }

        Assert.Equal(before, await ViewAsync(server, stream));
        Assert.Empty(FilesHolding(server.DataDirectory, Marker));

        Assert.Equal(0, await server.StopAsync());
        Assert.Empty(FilesHolding(server.DataDirectory, Marker));
        var verify = await EfdbProcess.RunAsync("verify", "--data", server.DataDirectory);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        string checksumLine = verify.Stdout.Split('\n').Single(l => l.StartsWith("checksum: ", StringComparison.Ordinal)).Trim();
        Assert.Contains(checksumLine["checksum: ".Length..], before[0], StringComparison.Ordinal);

        await server.RestartAsync();
        Assert.Equal(before, await ViewAsync(server, stream));
    }
}
