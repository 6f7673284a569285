using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventflowDb.Tests.Harness;
using EventflowDb.Tests.Lifecycle;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Operations;

/// <summary>The efdb tool (SPEC "Backups and operations (v1)") run as a real process against real servers and data directories.</summary>
public sealed class CliTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private static readonly string[] Commands = ["verify", "export", "import", "backup", "restore", "tail", "stats", "bench"];

    public static TheoryData<string> CommandNames => [.. Commands];

    [Fact]
    public async Task Verify_on_a_stopped_servers_data_directory_prints_the_checksum_the_server_reported_and_changes_nothing()
    {
        var server = await StartServerAsync();
        await using (var c = await server.OpenRawAsync())
        {
            await WriteSampleAsync(c, "verify");
        }

        var (events, lastId, checksum) = await ChecksumAsync(server);
        Assert.Equal(0, await server.StopAsync());
        var before = Fingerprint(server.DataDirectory);

        var result = await RunAsync("verify", "--data", server.DataDirectory);

        Assert.True(result.ExitCode == 0, Describe(result));
        var values = KeyValues(result.Stdout);
        Assert.Equal(events.ToString(CultureInfo.InvariantCulture), values["events"]);
        Assert.Equal(lastId, values["last_id"]);
        Assert.Equal(checksum, values["checksum"]);
        Assert.Equal(before, Fingerprint(server.DataDirectory));
    }

    [Fact]
    public async Task Verify_finds_a_flipped_bit_in_the_log_names_the_file_and_offset_and_exits_2()
    {
        var server = await StartServerAsync();
        await using (var c = await server.OpenRawAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                await c.EventsAsync("ADD", $"flip-{i % 2}", "any", "Written", $"{{\"i\":{i},\"text\":\"some bytes to flip\"}}");
            }
        }

        Assert.Equal(0, await server.StopAsync());
        string segment = Path.Combine(server.DataDirectory, "log", "events.log.0");
        var entries = EntryAddresses(segment);
        Assert.True(entries.Count >= 5, $"{entries.Count} entries in the first segment");
        var (address, length) = entries[1];
        FlipBit(segment, address + 4 + 8 + ((length - 8) / 2), 3);

        var result = await RunAsync("verify", "--data", server.DataDirectory);

        Assert.True(result.ExitCode == 2, Describe(result));
        Assert.Contains($"events.log.0 at offset {address}", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("1", KeyValues(result.Stdout)["events"]);
    }

    [Fact]
    public async Task Verify_reports_garbage_after_the_last_record_as_a_torn_tail_not_damage_as_the_server_cuts_it()
    {
        var server = await StartServerAsync();
        await using (var c = await server.OpenRawAsync())
        {
            await WriteSampleAsync(c, "torn");
        }

        var (events, lastId, checksum) = await ChecksumAsync(server);
        Assert.Equal(0, await server.StopAsync());
        string segment = Path.Combine(server.DataDirectory, "log", "events.log.0");
        long tail = LogEnd(segment);
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Position = tail;
            file.Write([0x10, 0x00, 0x00, 0x00, 0xAB, 0xCD, 0xEF, 0x01]); // a record header whose payload never arrived
        }

        var result = await RunAsync("verify", "--data", server.DataDirectory);
        Assert.True(result.ExitCode == 0, Describe(result));
        Assert.Contains("torn tail", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"events.log.0 at offset {tail}", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(checksum, KeyValues(result.Stdout)["checksum"]);

        await server.RestartAsync();
        Assert.Equal((events, lastId, checksum), await ChecksumAsync(server));
    }

    [Fact]
    public async Task Export_then_import_into_an_empty_server_gives_the_same_events_and_a_second_import_stores_nothing()
    {
        var source = await StartServerAsync();
        await using var s = await source.OpenRawAsync();
        await WriteSampleAsync(s, "copy");
        var original = await s.ReadWholeLogAsync();

        var export = await RunAsync("export", "--server", Address(source));
        Assert.True(export.ExitCode == 0, Describe(export));
        Assert.Equal(original.Select(e => e.Raw), export.Lines);
        string file = Path.Combine(ServerProcess.NewTempDirectory(), "events.jsonl");
        await File.WriteAllTextAsync(file, export.Stdout);

        var target = await StartServerAsync();
        var first = await RunAsync("import", file, "--server", Address(target), "--batch", "3");
        Assert.True(first.ExitCode == 0, Describe(first));
        Assert.Equal(original.Count.ToString(CultureInfo.InvariantCulture), KeyValues(first.Stdout)["stored"]);
        Assert.Equal("0", KeyValues(first.Stdout)["skipped"]);

        await using var t = await target.OpenRawAsync();
        var copied = await t.ReadWholeLogAsync();
        Assert.Equal(original.Select(Essence), copied.Select(Essence));
        Assert.All(copied.Zip(original), pair => Assert.Equal(pair.Second.MessageId ?? pair.Second.Id, pair.First.MessageId));
        var afterFirst = await StoreState.ReadAsync(t);

        // Again, through stdin and batched differently: every event is already there.
        var second = await EfdbProcess.RunAsync(["import", "-", "--server", Address(target)], stdin: export.Stdout);
        Assert.True(second.ExitCode == 0, Describe(second));
        Assert.Equal("0", KeyValues(second.Stdout)["stored"]);
        Assert.Equal(original.Count.ToString(CultureInfo.InvariantCulture), KeyValues(second.Stdout)["skipped"]);
        Assert.Equal(afterFirst, await StoreState.ReadAsync(t));

        // The same lines from the stopped source's data directory, and a channel filter.
        Assert.Equal(0, await source.StopAsync());
        var offline = await RunAsync("export", "--data", source.DataDirectory);
        Assert.True(offline.ExitCode == 0, Describe(offline));
        Assert.Equal(export.Lines, offline.Lines);
        var category = await RunAsync("export", "--data", source.DataDirectory, "--channel", "category:copy");
        Assert.Equal(original.Where(e => e.Stream.StartsWith("copy-", StringComparison.Ordinal)).Select(e => e.Raw), category.Lines);
        ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(file)!);
    }

    [Fact]
    public async Task Export_leaves_out_deleted_and_truncated_events_writes_forgotten_ones_without_data_and_import_keeps_them_forgotten()
    {
        var source = await StartServerAsync();
        await using var s = await source.OpenRawAsync();
        string suffix = Guid.NewGuid().ToString("N");
        var (f, d, t) = ($"forgotten-{suffix}", $"deleted-{suffix}", $"truncated-{suffix}");
        await s.EventsAsync("ADD", f, "any", "Registered", "{\"ssn\":\"SECRET-SSN-F\"}");
        await s.EventsAsync("ADD", $"{{\"stream\":\"{f}\",\"version\":\"any\",\"events\":[{{\"type\":\"Noted\",\"data\":{{\"ssn\":\"SECRET-SSN-G\"}},\"metadata\":{{\"ip\":\"SECRET-IP\"}},\"message_id\":\"note-{suffix}\"}}]}}");
        await s.EventsAsync("ADD", d, "any", "Registered", "{\"ssn\":\"SECRET-SSN-D\"}");
        await s.EventsAsync("ADD", t, "any", "Registered", "{\"ssn\":\"SECRET-SSN-T\"}", "Kept", "{\"k\":1}");
        await s.OkAsync("FORGET", f);
        await s.OkAsync("DELETE", d);
        await s.OkAsync("TRUNCATE", t, "1");
        await s.EventsAsync("ADD", f, "any", "Later", "{\"k\":2}");
        var visible = await s.ReadWholeLogAsync();
        Assert.Equal(4, visible.Count);

        // Online (GETALL) and offline (the data directory, lifecycle applied as the server applies it): the same lines.
        var online = await RunAsync("export", "--server", Address(source));
        Assert.True(online.ExitCode == 0, Describe(online));
        Assert.Equal(visible.Select(e => e.Raw), online.Lines);
        Assert.Equal(0, await source.StopAsync());
        var offline = await RunAsync("export", "--data", source.DataDirectory);
        Assert.True(offline.ExitCode == 0, Describe(offline));
        Assert.Equal(online.Lines, offline.Lines);
        Assert.DoesNotContain("SECRET", offline.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, offline.Lines.Count(l => l.EndsWith(",\"forgotten\":true}", StringComparison.Ordinal) && l.Contains("\"data\":null,\"metadata\":null", StringComparison.Ordinal)));
        Assert.Contains("2 hidden", offline.Stderr, StringComparison.Ordinal);
        string file = Path.Combine(ServerProcess.NewTempDirectory(), "events.jsonl");
        await File.WriteAllTextAsync(file, offline.Stdout);

        // Import: the forgotten events arrive forgotten (FORGET after them), nothing of their data anywhere.
        var target = await StartServerAsync();
        var first = await RunAsync("import", file, "--server", Address(target));
        Assert.True(first.ExitCode == 0, Describe(first));
        Assert.Equal(("4", "0", "2"), (KeyValues(first.Stdout)["stored"], KeyValues(first.Stdout)["skipped"], KeyValues(first.Stdout)["forgotten"]));
        await using var c = await target.OpenRawAsync();
        var copied = await c.ReadWholeLogAsync();
        Assert.Equal(
            visible.Select(e => (e.Stream, e.Type, e.MessageId ?? e.Id, e.Data.GetRawText(), e.Root.TryGetProperty("forgotten", out _))),
            copied.Select(e => (e.Stream, e.Type, e.MessageId!, e.Data.GetRawText(), e.Root.TryGetProperty("forgotten", out _))));
        Assert.Equal([0L, 1L, 2L], copied.Where(e => e.Stream == f).Select(e => e.Version));
        Assert.DoesNotContain("SECRET", string.Join('\n', copied.Select(e => e.Raw)), StringComparison.Ordinal);

        // Again: nothing stored, still forgotten.
        var second = await RunAsync("import", file, "--server", Address(target));
        Assert.True(second.ExitCode == 0, Describe(second));
        Assert.Equal(("0", "4", "2"), (KeyValues(second.Stdout)["stored"], KeyValues(second.Stdout)["skipped"], KeyValues(second.Stdout)["forgotten"]));
        Assert.Equal(copied.Select(e => e.Raw), (await c.ReadWholeLogAsync()).Select(e => e.Raw));
        ServerProcess.TryDeleteDirectory(Path.GetDirectoryName(file)!);
    }

    [Fact]
    public async Task Restore_refuses_a_non_empty_directory_and_a_server_on_the_restored_directory_serves_the_same_checksum()
    {
        var server = await StartServerAsync();
        await using (var c = await server.OpenRawAsync())
        {
            await WriteSampleAsync(c, "restore");
        }

        var (events, lastId, checksum) = await ChecksumAsync(server);
        string root = ServerProcess.NewTempDirectory();
        string backup = Path.Combine(root, "backup");
        var backedUp = await RunAsync("backup", backup, "--server", Address(server));
        Assert.True(backedUp.ExitCode == 0, Describe(backedUp));
        Assert.Equal(events.ToString(CultureInfo.InvariantCulture), KeyValues(backedUp.Stdout)["events"]);
        Assert.Equal(lastId, KeyValues(backedUp.Stdout)["last_id"]);

        string occupied = Path.Combine(root, "occupied");
        Directory.CreateDirectory(occupied);
        await File.WriteAllTextAsync(Path.Combine(occupied, "keep.txt"), "mine");
        var refused = await RunAsync("restore", backup, "--data", occupied);
        Assert.True(refused.ExitCode == 1, Describe(refused));
        Assert.Contains("not empty", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(occupied).Select(Path.GetFileName));

        string restored = Path.Combine(root, "restored");
        var restore = await RunAsync("restore", backup, "--data", restored);
        Assert.True(restore.ExitCode == 0, Describe(restore));
        Assert.Equal(checksum, KeyValues(restore.Stdout)["checksum"]);
        Assert.False(File.Exists(Path.Combine(restored, "backup.json")));

        var onRestored = await StartServerAsync(new ServerSettings { DataDirectory = restored });
        var served = await ChecksumAsync(onRestored);
        Assert.Equal((events, lastId, checksum), served);
        await onRestored.StopAsync();
        ServerProcess.TryDeleteDirectory(root);
    }

    [Fact]
    public async Task Tail_prints_the_history_after_from_then_live_events_of_its_channel()
    {
        var server = await StartServerAsync();
        string stream = Unique("tail");
        await using var c = await server.OpenRawAsync();
        await c.EventsAsync("ADD", stream, "any", "Before", "{\"n\":1}");
        await c.EventsAsync("ADD", Unique("other"), "any", "Other", "{}");
        using var tail = EfdbProcess.Start(["tail", $"stream:{stream}", "--from", "0", "--server", Address(server)]);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? first = await tail.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.Equal("Before", JsonDocument.Parse(first!).RootElement.GetProperty("type").GetString());
            var live = (await c.EventsAsync("ADD", stream, "any", "Live", "{\"n\":2}"))[0];
            string? second = await tail.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.Equal(live.Raw, second);
        }
        finally
        {
            tail.Kill(entireProcessTree: true);
            await tail.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Stats_and_bench_print_key_value_lines_when_stdout_is_redirected()
    {
        var server = await StartServerAsync();
        var bench = await RunAsync("bench", "--server", Address(server), "--connections", "2", "--requests", "200", "--pipeline", "2", "--size", "64");
        Assert.True(bench.ExitCode == 0, Describe(bench));
        var results = KeyValues(bench.Stdout);
        Assert.Equal("200", results["requests"]);
        Assert.Equal("0", results["errors"]);
        Assert.True(double.Parse(results["latency_p99_ms"], CultureInfo.InvariantCulture) > 0);

        var stats = await RunAsync("stats", "--server", Address(server));
        Assert.True(stats.ExitCode == 0, Describe(stats));
        var values = KeyValues(stats.Stdout);
        Assert.Equal("200", values["events"]);
        var (_, lastId, checksum) = await ChecksumAsync(server);
        Assert.Equal(checksum, values["checksum"]);
        Assert.Equal(lastId, values["last_id"]);
    }

    [Fact]
    public async Task Server_commands_connect_with_tls_a_ca_file_and_a_password_and_a_wrong_password_exits_1()
    {
        using var certificates = TestCertificates.Create();
        var server = await StartServerAsync(new ServerSettings { Tls = certificates, TlsOnly = true, Password = "cli-tls-pw" });
        string address = $"127.0.0.1:{server.TlsPort.ToString(CultureInfo.InvariantCulture)}";

        var stats = await RunAsync("stats", "--server", address, "--cacert", certificates.CaFile, "--password", "cli-tls-pw", "--section", "eventflowdb");
        Assert.True(stats.ExitCode == 0, Describe(stats));
        Assert.Equal("0", KeyValues(stats.Stdout)["events"]);

        var wrong = await RunAsync("stats", "--server", address, "--tls", "--cacert", certificates.CaFile, "--password", "not-it");
        Assert.True(wrong.ExitCode == 1, Describe(wrong));
    }

    [Theory]
    [InlineData("verify", "--bogus")]
    [InlineData("frobnicate")]
    [InlineData("verify")]
    [InlineData("export", "--channel", "nowhere:x")]
    [InlineData("export", "--server", "no-port-here")]
    [InlineData("bench", "--connections", "0")]
    [InlineData("restore", "/nonexistent-backup")]
    public async Task A_bad_argument_exits_1_with_a_usage_message(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 1, Describe(result));
        Assert.False(string.IsNullOrWhiteSpace(result.Stderr), Describe(result));
        Assert.Contains("efdb", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_and_a_missing_directory_exit_1()
    {
        var unreachable = await RunAsync("stats", "--server", $"127.0.0.1:{ServerProcess.FreePort()}");
        Assert.True(unreachable.ExitCode == 1, Describe(unreachable));
        var missing = await RunAsync("verify", "--data", Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N")));
        Assert.True(missing.ExitCode == 1, Describe(missing));
        Assert.Contains("does not exist", missing.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public async Task Help_works_for_each_command(string command)
    {
        var result = await RunAsync(command, "--help");
        Assert.True(result.ExitCode == 0, Describe(result));
        Assert.Contains("USAGE:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"efdb {command}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("DESCRIPTION:", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_command()
    {
        var result = await RunAsync("--help");
        Assert.True(result.ExitCode == 0, Describe(result));
        Assert.All(Commands, name => Assert.Contains(name, result.Stdout, StringComparison.Ordinal));
    }

    /// <summary>Streams of two categories, positional and JSON ADDs, metadata, message ids, string and object data.</summary>
    private static async Task WriteSampleAsync(RespConnection c, string category)
    {
        string a = $"{category}-{Guid.NewGuid():N}";
        string b = $"other{category}-{Guid.NewGuid():N}";
        await c.EventsAsync("ADD", a, "no_stream", "Opened", "{\"owner\":\"ada\"}");
        await c.EventsAsync("ADD", b, "any", "Noted", "plain text");
        await c.EventsAsync("ADD", a, "1", "Deposited", "{\"amount\":10}", "Deposited", "{\"amount\":5}");
        await c.EventsAsync("ADD", $"{{\"stream\":\"{b}\",\"version\":\"any\",\"events\":[{{\"type\":\"Tagged\",\"data\":[1,2,3],\"metadata\":{{\"by\":\"cli\"}},\"message_id\":\"tag-1\"}},{{\"type\":\"Tagged\",\"data\":\"\\\"quoted\\\"\",\"message_id\":\"tag-2\"}}]}}");
        for (int i = 0; i < 20; i++)
        {
            await c.EventsAsync("ADD", i % 2 == 0 ? a : b, "any", "Counted", $"{{\"i\":{i}}}");
        }
    }

    private static async Task<(long Events, string LastId, string Checksum)> ChecksumAsync(ServerProcess server)
    {
        await using var c = await server.OpenRawAsync();
        var state = await StoreState.ReadAsync(c);
        return (state.Events, state.LastId, state.Checksum);
    }

    /// <summary>What an import keeps of an event (ids, positions and times are the target's own).</summary>
    private static string Essence(StoredEvent e) =>
        $"{e.Stream}|{e.Version}|{e.Type}|{e.Data.GetRawText()}|{e.Metadata?.GetRawText()}|{e.CausationId}|{e.CorrelationId}";

    private static string Address(ServerProcess server) => $"127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}";

    private async Task<CliResult> RunAsync(params string[] args)
    {
        var result = await EfdbProcess.RunAsync(args);
        TestOutput.WriteLine($"$ efdb {string.Join(' ', args)}\n{Describe(result)}");
        return result;
    }

    private static string Describe(CliResult result) =>
        $"exit {result.ExitCode}\n--- stdout ---\n{(result.Stdout.Length > 4000 ? result.Stdout[..4000] + "..." : result.Stdout)}\n--- stderr ---\n{result.Stderr}";

    private static Dictionary<string, string> KeyValues(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0)
            {
                values[line[..colon]] = line[(colon + 2)..];
            }
        }

        return values;
    }

    /// <summary>Every file's path, length, time and SHA-256: equal before and after means nothing was changed.</summary>
    private static List<string> Fingerprint(string directory) =>
        [.. new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories)
            .OrderBy(f => f.FullName, StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(directory, f.FullName)} {f.Length} {f.LastWriteTimeUtc:O} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f.FullName)))}")];

    /// <summary>Address and payload length of each entry (positive-length FasterLog record) in the first page of a segment.</summary>
    private static List<(long Address, int Length)> EntryAddresses(string segment)
    {
        var bytes = new byte[4 << 20];
        using (var file = File.OpenRead(segment))
        {
            _ = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        }

        var entries = new List<(long, int)>();
        int address = 64;
        while (address + 4 <= bytes.Length)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(address));
            if (length == 0)
            {
                break;
            }

            if (length > 0 && Encoding.ASCII.GetString(bytes, address + 4 + 8, 4) == "EFE1")
            {
                entries.Add((address, length));
            }

            address += 4 + ((Math.Abs(length) + 3) & ~3);
        }

        return entries;
    }

    /// <summary>The address just past the last record in the first page of a segment.</summary>
    private static long LogEnd(string segment)
    {
        var bytes = new byte[4 << 20];
        using (var file = File.OpenRead(segment))
        {
            _ = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        }

        int address = 64;
        while (address + 4 <= bytes.Length && BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(address)) is var length and not 0)
        {
            address += 4 + ((Math.Abs(length) + 3) & ~3);
        }

        return address;
    }

    private static void FlipBit(string path, long offset, int bit)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ (1 << bit)));
    }
}
