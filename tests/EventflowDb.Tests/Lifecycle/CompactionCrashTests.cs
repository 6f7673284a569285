using System.Text;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>
/// Compaction on a real server process: kill -9 at points during COMPACT loses no event and changes no read or CHECKSUM,
/// the store verifies, and a completed compaction leaves no forgotten byte; the background compaction runs by itself.
/// </summary>
public sealed class CompactionCrashTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string Marker = "Vb8CrashGdprMarker2Zt";

    private static List<string> FilesHolding(string directory, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        var found = new List<string>();
        foreach (string file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                if (copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(needle) >= 0)
                {
                    found.Add(file);
                }
            }
            catch (FileNotFoundException)
            {
            }
            catch (IOException)
            {
                found.Add(file); // held open exclusively right now (a journal being written): look again later
            }
        }

        return found;
    }

    private static async Task<List<string>> ViewAsync(ServerProcess server, IEnumerable<string> streams)
    {
        await using var c = await server.OpenRawAsync();
        var view = new List<string> { (await StoreState.ReadAsync(c)).ToString() };
        foreach (string stream in streams)
        {
            view.AddRange((await c.ReadWholeStreamAsync(stream)).Select(e => e.Raw));
        }

        return view;
    }

    /// <summary>A forgotten stream of large events carrying <see cref="Marker"/>, a truncated one and a kept one.</summary>
    private static async Task<List<string>> WriteAsync(ServerProcess server, string prefix, int events)
    {
        string forgotten = $"{prefix}-forgotten";
        string truncated = $"{prefix}-truncated";
        string kept = $"{prefix}-kept";
        string filler = new('x', 30_000);
        await using var c = await server.OpenRawAsync();
        for (int i = 0; i < events; i++)
        {
            await c.EventsAsync("ADD", forgotten, "any", "Personal", $$"""{"who":"{{Marker}}","pad":"{{filler}}"}""");
            await c.EventsAsync("ADD", truncated, "any", "Big", $$"""{"pad":"{{filler}}"}""");
            await c.EventsAsync("ADD", kept, "any", "Kept", $$"""{"n":{{i}}}""");
        }

        await c.OkAsync("FORGET", forgotten);
        await c.OkAsync("TRUNCATE", truncated, (events - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return [forgotten, truncated, kept];
    }

    [Fact]
    public async Task Kill_9_during_COMPACT_loses_nothing_and_a_completed_compaction_leaves_no_forgotten_byte()
    {
        var server = await StartServerAsync("--compact-interval", "0");
        var streams = await WriteAsync(server, Unique("crash"), 150);
        var before = await ViewAsync(server, streams);

        foreach (int delayMs in new[] { 1, 15, 40, 90, Random.Shared.Next(1, 200) })
        {
            var c = await server.OpenRawAsync();
            await c.SendCommandAsync("COMPACT");
            await Task.Delay(delayMs);
            await server.KillAsync();
            await c.DisposeAsync();
            await server.RestartAsync();
            Assert.Equal(before, await ViewAsync(server, streams));

            // Appends go on after each restart.
            await using (var w = await server.OpenRawAsync())
            {
                await w.AddAsync(Unique("after"), 1);
            }

            before = await ViewAsync(server, streams);
        }

        await using (var c = await server.OpenRawAsync())
        {
            Assert.Equal(2, (await c.CommandAsync("COMPACT")).Arr().Count);
        }

        var after = await ViewAsync(server, streams);
        Assert.Equal(before.Skip(1), after.Skip(1));
        Assert.Equal(0, await server.StopAsync());
        Assert.Empty(FilesHolding(server.DataDirectory, Marker));
        var verify = await EfdbProcess.RunAsync("verify", "--data", server.DataDirectory);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        await server.RestartAsync();
        Assert.Equal(after, await ViewAsync(server, streams));
    }

    [Fact]
    public async Task The_background_compaction_removes_forgotten_bytes_by_itself()
    {
        var server = await StartServerAsync("--compact-interval", "1");
        var streams = await WriteAsync(server, Unique("background"), 20);
        var before = await ViewAsync(server, streams);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (FilesHolding(server.DataDirectory, Marker).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.Empty(FilesHolding(server.DataDirectory, Marker));
        Assert.Equal(before, await ViewAsync(server, streams));
        Assert.Contains("forgotten events and", server.Output, StringComparison.Ordinal);
    }
}
