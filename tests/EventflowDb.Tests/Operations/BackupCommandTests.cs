using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>BACKUP over RESP while clients write (SPEC "Backups and operations"), and a server started on the backup.</summary>
public sealed class BackupCommandTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task A_backup_under_four_writers_serves_exactly_the_acknowledged_prefix_up_to_its_last_id()
    {
        var server = await StartServerAsync();
        string target = Path.Combine(ServerProcess.NewTempDirectory(), "backup");
        using var stop = new CancellationTokenSource();
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<StoredEvent>();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            await using var c = await server.OpenRawAsync();
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                foreach (var e in await c.EventsAsync("ADD", $"w{w}-{i % 3}", "any", "Written", $"{{\"w\":{w},\"i\":{i}}}"))
                {
                    acknowledged.Add(e);
                }
            }
        })).ToList();

        while (acknowledged.Count < 300)
        {
            await Task.Delay(10);
        }

        await using var admin = await server.OpenRawAsync();
        var reply = (await admin.CommandAsync("BACKUP", target)).Arr();
        long events = reply[0].Int();
        long bytes = reply[1].Int();
        string lastId = reply[2].Str();
        int atBackup = acknowledged.Count;
        while (acknowledged.Count < atBackup + 100)
        {
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(events >= 300, $"{events} events in the backup");
        Assert.True(bytes > 0);
        var prefix = acknowledged.Where(e => string.CompareOrdinal(e.Id, lastId) <= 0).OrderBy(e => e.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(events, prefix.Count);
        Assert.True(acknowledged.Count > events, "writes went on during the backup");
        var live = await admin.ReadWholeLogAsync();

        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(target, "backup.json"))).RootElement;
        Assert.Equal(lastId, manifest.GetProperty("last_id").GetString());

        var restored = await StartServerAsync(new ServerSettings { DataDirectory = target });
        await using var c = await restored.OpenRawAsync();
        var served = await c.ReadWholeLogAsync();
        Assert.Equal(prefix.Select(e => e.Id), served.Select(e => e.Id));
        Assert.Equal(live.Take(prefix.Count).Select(e => e.Raw), served.Select(e => e.Raw));
        var checksum = (await c.CommandAsync("CHECKSUM")).Strings();
        Assert.Equal(lastId, checksum[0]);
        Assert.Equal(manifest.GetProperty("checksum").GetUInt64().ToString("x16", System.Globalization.CultureInfo.InvariantCulture), checksum[1]);
        ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(target)!);
    }

    [Fact]
    public async Task Backup_is_an_admin_command_and_a_bad_directory_is_a_clean_error()
    {
        var server = await StartServerAsync(new ServerSettings { Password = "backup-admin" });
        await using var admin = await server.OpenAuthenticatedRawAsync();
        Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "writer", "on", ">w", "~*", "+@read", "+@write")).Str());
        await using var writer = await server.OpenRawAsync();
        Assert.Equal("OK", (await writer.CommandAsync("AUTH", "writer", "w")).Str());
        string target = Path.Combine(ServerProcess.NewTempDirectory(), "backup");
        Assert.Equal("NOPERM User writer has no permissions to run the 'backup' command", await writer.ErrorAsync("BACKUP", target));
        Assert.False(Directory.Exists(target));

        string inside = Path.Combine(server.DataDirectory, "backup");
        Assert.StartsWith("ERR backup failed: ", await admin.ErrorAsync("BACKUP", inside), StringComparison.Ordinal);
        Assert.Equal("PONG", (await admin.CommandAsync("PING")).Str());
        Assert.Equal(3, (await admin.CommandAsync("BACKUP", target)).Arr().Count);
        ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(target)!);
    }
}
