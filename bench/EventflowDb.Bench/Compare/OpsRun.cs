using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventflowDb.Bench.Resp;
using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>ops [--events 1000000] [--data-bytes 200] [--seconds 5] [--import-events 200000]</c>: the operations of issue 19 on a store of
/// <c>--events</c> events. BACKUP throughput (a full backup, then an incremental one into the same directory), the ADD
/// latency (1 event per ADD, 8 connections, fsync always) without, with, and again without BACKUPs running back to back,
/// and the events per second of <c>efdb export</c> (from the server and from a data directory) and <c>efdb import</c> (into
/// an empty server, then the same lines again; the first <c>--import-events</c> lines of the export). Writes the "Operations" section of docs/benchmarks.md.
/// </summary>
internal static class OpsRun
{
    public const string SectionTitle = "## Operations: BACKUP, export and import (EventflowDB only)";

    private const int Port = 16547;
    private const int ImportPort = 16548;
    private const int LatencyConnections = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        int events = Arg(args, "--events", 1_000_000);
        int dataBytes = Arg(args, "--data-bytes", 200);
        int importEvents = Arg(args, "--import-events", 200_000);
        var duration = TimeSpan.FromSeconds(Arg(args, "--seconds", 5));
        var total = Stopwatch.StartNew();
        string load = LoadAverage();
        string root = Repo.Root();
        Console.WriteLine("Building the server and efdb (Release)...");
        foreach (var project in (string[])["server/EventflowDb.Server/EventflowDb.Server.csproj", "tools/EventflowDb.Cli/EventflowDb.Cli.csproj"])
        {
            var build = await Shell.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(root, project)]).ConfigureAwait(false);
            if (build.ExitCode != 0)
            {
                Console.Error.WriteLine(build.Output);
                return 1;
            }
        }

        string serverDll = Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        string efdbDll = Path.Combine(root, "tools/EventflowDb.Cli/bin/Release/net10.0/efdb.dll");
        var temp = Directory.CreateTempSubdirectory("efdb-ops-");
        var rows = new List<string[]>();
        var facts = new List<string>();
        try
        {
            using var server = ServerProcess.Eventflow(serverDll, Path.Combine(temp.FullName, "data"), Port, "always");
            await server.StartAsync().ConfigureAwait(false);
            using var control = new RespConnection(Port);

            Console.WriteLine($"== loading {events:N0} events of {dataBytes} data bytes");
            var loading = Stopwatch.StartNew();
            Load(Port, "load", events, dataBytes);
            long stored = control.CallInteger(RespCommand.Encode("EVENTCOUNT"));
            long dataDirectory = DirectoryBytes(Path.Combine(temp.FullName, "data"));
            facts.Add(string.Create(CultureInfo.InvariantCulture, $"store: {stored:N0} events ({dataBytes}-byte data, 100 per ADD, 8 connections) loaded in {loading.Elapsed.TotalSeconds:0.0} s, data directory {Mib(dataDirectory)}"));
            Console.WriteLine($"  {facts[^1]}");

            // BACKUP: full into an empty directory, then incremental into the same one after 1 % more events.
            string backupDirectory = Path.Combine(temp.FullName, "backup");
            var full = Backup(control, backupDirectory);
            rows.Add(["BACKUP, full (empty directory)", $"{full.Events:N0} events", Mib(full.Bytes), Seconds(full.Elapsed), $"{Mib(full.Bytes / full.Elapsed.TotalSeconds)}/s", ""]);
            Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
            int more = Math.Max(1000, events / 100);
            Load(Port, "more", more, dataBytes);
            var incremental = Backup(control, backupDirectory);
            rows.Add(["BACKUP, incremental (same directory)", $"{incremental.Events:N0} events ({incremental.Events - full.Events:N0} new)", Mib(incremental.Bytes), Seconds(incremental.Elapsed), $"{Mib(incremental.Bytes / incremental.Elapsed.TotalSeconds)}/s", "the segment being written (up to the commit), segments sealed since, and the index files that changed since"]);
            Console.WriteLine($"  {string.Join(" | ", rows[^1])}");

            // efdb export from the server and from the backup (a stopped store's data directory).
            string exported = Path.Combine(temp.FullName, "export.jsonl");
            var exportServer = await EfdbAsync(efdbDll, ["export", "--server", $"127.0.0.1:{Port}"], exported).ConfigureAwait(false);
            rows.Add(["efdb export --server", $"{exportServer.Lines:N0} events", Mib(new FileInfo(exported).Length), Seconds(exportServer.Elapsed), $"{exportServer.Lines / exportServer.Elapsed.TotalSeconds:N0} events/s", "JSON lines into a file; GETALL pages of 1,000"]);
            Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
            string offline = Path.Combine(temp.FullName, "export-offline.jsonl");
            var exportData = await EfdbAsync(efdbDll, ["export", "--data", backupDirectory], offline).ConfigureAwait(false);
            rows.Add(["efdb export --data (the backup directory)", $"{exportData.Lines:N0} events", Mib(new FileInfo(offline).Length), Seconds(exportData.Elapsed), $"{exportData.Lines / exportData.Elapsed.TotalSeconds:N0} events/s", "reads and checks the log files, no server"]);
            Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
            File.Delete(offline);

            // ADD latency without, with and again without BACKUPs running back to back (after the export: its events are not exported).
            var latencyRows = new List<string[]>();
            var before = AddLoad(duration);
            latencyRows.Add(LatencyRow("without BACKUP", before, ""));
            Console.WriteLine($"  {string.Join(" | ", latencyRows[^1])}");
            var (during, backups) = AddLoadDuringBackups(Path.Combine(temp.FullName, "running"), duration);
            latencyRows.Add(LatencyRow("during BACKUPs (back to back, full)", during, backups));
            Console.WriteLine($"  {string.Join(" | ", latencyRows[^1])}");
            var after = AddLoad(duration);
            latencyRows.Add(LatencyRow("without BACKUP, again", after, ""));
            Console.WriteLine($"  {string.Join(" | ", latencyRows[^1])}");
            await server.StopAsync().ConfigureAwait(false);

            // efdb import of the first --import-events lines of the export into an empty server, then the same lines again (all already held).
            string slice = Path.Combine(temp.FullName, "import.jsonl");
            await File.WriteAllLinesAsync(slice, File.ReadLines(exported).Take(importEvents)).ConfigureAwait(false);
            using (var target = ServerProcess.Eventflow(serverDll, Path.Combine(temp.FullName, "imported"), ImportPort, "always"))
            {
                await target.StartAsync().ConfigureAwait(false);
                var import = await EfdbAsync(efdbDll, ["import", "--server", $"127.0.0.1:{ImportPort}", slice], null).ConfigureAwait(false);
                rows.Add(["efdb import (empty server)", $"{import.Stored:N0} stored", Mib(new FileInfo(slice).Length), Seconds(import.Elapsed), $"{import.Stored / import.Elapsed.TotalSeconds:N0} events/s", "the first lines of the export above: runs of 100 events of one stream, one ADD each; message ids kept"]);
                Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
                var again = await EfdbAsync(efdbDll, ["import", "--server", $"127.0.0.1:{ImportPort}", slice], null).ConfigureAwait(false);
                rows.Add(["efdb import again (same lines)", $"{again.Stored:N0} stored, {again.Skipped:N0} skipped", Mib(new FileInfo(slice).Length), Seconds(again.Elapsed), $"{again.Skipped / again.Elapsed.TotalSeconds:N0} events/s", "every event already held: nothing written"]);
                Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
                await target.StopAsync().ConfigureAwait(false);
            }

            // The worst case for import: consecutive lines of different streams, so one ADD (and one fsync) per event.
            string interleaved = Path.Combine(temp.FullName, "interleaved.jsonl");
            int interleavedLines = Interleave(exported, interleaved, streams: 50, perStream: 100);
            using (var target = ServerProcess.Eventflow(serverDll, Path.Combine(temp.FullName, "interleaved"), ImportPort, "always"))
            {
                await target.StartAsync().ConfigureAwait(false);
                var import = await EfdbAsync(efdbDll, ["import", "--server", $"127.0.0.1:{ImportPort}", interleaved], null).ConfigureAwait(false);
                rows.Add(["efdb import, streams alternating line by line", $"{import.Stored:N0} stored", Mib(new FileInfo(interleaved).Length), Seconds(import.Elapsed), $"{import.Stored / import.Elapsed.TotalSeconds:N0} events/s", $"{interleavedLines:N0} lines of the export, round robin over 50 streams: one ADD per event"]);
                Console.WriteLine($"  {string.Join(" | ", rows[^1])}");
                await target.StopAsync().ConfigureAwait(false);
            }

            string path = Path.Combine(root, "docs", "benchmarks.md");
            string existing = File.Exists(path) ? await File.ReadAllTextAsync(path).ConfigureAwait(false) : "# Benchmarks\n";
            string section = Section(args, facts, rows, latencyRows, duration, total.Elapsed, load);
            await File.WriteAllTextAsync(path, MergeSection(existing, section)).ConfigureAwait(false);
            Console.WriteLine($"Wrote the Operations section of docs/benchmarks.md in {total.Elapsed.TotalSeconds:0} s");
            return 0;
        }
        finally
        {
            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary><paramref name="report"/> with <paramref name="section"/> in place of its Operations section, or appended.</summary>
    public static string MergeSection(string report, string section) => ReportSections.Merge(report, SectionTitle, section, before: null);

    private static string Section(string[] args, List<string> facts, List<string[]> rows, List<string[]> latencyRows, TimeSpan duration, TimeSpan elapsed, string loadAverage)
    {
        string options = args.Length == 0 ? "" : " " + string.Join(' ', args);
        var md = new StringBuilder();
        md.AppendLine(SectionTitle);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated by `dotnet run -c Release --project bench/EventflowDb.Bench -- ops{options}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores (load average {loadAverage} at the start), in {elapsed.TotalMinutes:0.0} min;");
        md.AppendLine("the server (Release, `--fsync always --checkpoint-interval 5 --http-port 0`), the load and `efdb` share the machine, and the data directory, the backups and the export file share one disk.");
        foreach (var fact in facts)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"The {fact}.");
        }

        md.AppendLine();
        md.AppendLine("| operation | events | bytes | time | throughput | notes |");
        md.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"ADD latency while BACKUP runs: `ADD lat-C any T {{\"a\":1}}`, {LatencyConnections} connections in a closed loop (one request in flight each), {duration.TotalSeconds:0} s per row, the rows one after the other;");
        md.AppendLine("HdrHistogram of each request's round trip. In the middle row another connection runs full BACKUPs into fresh directories back to back (each deleted after).");
        md.AppendLine();
        md.AppendLine("| ADD load | ADDs /s | p50 ms | p99 ms | p99.9 ms | max ms | BACKUPs meanwhile |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in latencyRows)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        md.AppendLine();
        md.AppendLine("- **BACKUP** copies the log segments up to the last commit (sealed ones only when the directory does not hold them yet),");
        md.AppendLine("  then the index checkpoint (FASTER's hash table, 128 MiB however few events), the snapshot and the FASTER commit files,");
        md.AppendLine("  each file written through the page cache and fsynced. Throughput is bytes copied over the BACKUP's round trip. The first");
        md.AppendLine("  BACKUP reads the log from disk (written with direct I/O, it is not in the page cache); the BACKUPs after it read what the");
        md.AppendLine("  first one brought into the cache, which is likely why they are faster even under load. Every BACKUP first takes a");
        md.AppendLine("  checkpoint when there were writes since the last one. An incremental BACKUP copies the segment being written, the");
        md.AppendLine("  segments sealed since, and the index files that changed: the new pages of the index's log, and the 128 MiB hash table");
        md.AppendLine("  only when a full index checkpoint (every 12th) was taken since.");
        md.AppendLine("- **ADD latency**: the BACKUPs share the disk with the log's synchronous writes (every ADD waits for its fsync), so the");
        md.AppendLine(CultureInfo.InvariantCulture, $"  fsynced copy shows in the ADD round trip: {Impact(latencyRows)}");
        md.AppendLine("- **efdb** times are wall-clock from the process start to its exit (the .NET start, about 0.2 s here, included). `import` sends one ADD");
        md.AppendLine("  at a time, each waiting for its fsync, grouping consecutive lines of one stream (up to 500 events): its rate follows the");
        md.AppendLine("  length of those runs, as the row with streams alternating line by line shows.");
        md.AppendLine("- **What it means**: while a BACKUP runs, ADDs keep their median but lose their tail latency and much of their rate");
        md.AppendLine("  (the ADD path takes no lock the copy holds; the copy and the checkpoint before it compete with the log's fsyncs for");
        md.AppendLine("  the disk and the CPU), so schedule BACKUPs where that is acceptable; repeated BACKUPs into one directory are cheap.");
        md.AppendLine("  Exporting a backup directory offline (`--data`) costs the server nothing; `import` is bound by one fsync per ADD.");
        md.AppendLine();
        return md.ToString();
    }

    /// <summary>The ADD p99 during BACKUPs against the two rows without, as a sentence.</summary>
    private static string Impact(List<string[]> latencyRows)
    {
        double P99(int row) => double.Parse(latencyRows[row][3], CultureInfo.InvariantCulture);
        double Rate(int row) => double.Parse(latencyRows[row][1], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        double p99 = (P99(0) + P99(2)) / 2;
        double rate = (Rate(0) + Rate(2)) / 2;
        return string.Create(CultureInfo.InvariantCulture, $"in this run p99 went from {p99:0.#} ms (mean of the rows without) to {P99(1):0.#} ms ({P99(1) / p99:0.#}×) and ADDs per second from {rate:N0} to {Rate(1):N0} while BACKUPs ran.");
    }

    private sealed record BackupRun(long Events, long Bytes, TimeSpan Elapsed);

    private static BackupRun Backup(RespConnection connection, string directory)
    {
        var watch = Stopwatch.StartNew();
        var reply = connection.CallStrings(RespCommand.Encode("BACKUP", directory));
        var elapsed = watch.Elapsed;
        return new BackupRun(long.Parse(reply[0], CultureInfo.InvariantCulture), long.Parse(reply[1], CultureInfo.InvariantCulture), elapsed);
    }

    private static LoadResult AddLoad(TimeSpan duration)
    {
        var requests = Enumerable.Range(0, LatencyConnections).Select(c => new Loader.Request(RespCommand.Encode("ADD", $"lat-{c}", "any", "T", "{\"a\":1}"), 1)).ToArray();
        return Loader.Run("EventflowDB", Port, LatencyConnections, duration, (c, _) => requests[c], 1);
    }

    /// <summary>The ADD load while another connection runs full BACKUPs into fresh directories, one after the other (each deleted after).</summary>
    private static (LoadResult Load, string Backups) AddLoadDuringBackups(string directory, TimeSpan duration)
    {
        var backups = new List<BackupRun>();
        using var stop = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        var backupThread = new Thread(() =>
        {
            using var connection = new RespConnection(Port);
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string target = $"{directory}-{i}";
                started.Set();
                backups.Add(Backup(connection, target));
                Directory.Delete(target, recursive: true);
            }
        })
        { IsBackground = true };
        backupThread.Start();
        started.Wait();
        var load = AddLoad(duration);
        stop.Cancel();
        backupThread.Join();
        double busy = backups.Sum(b => b.Elapsed.TotalSeconds);
        long bytes = backups.Sum(b => b.Bytes);
        string summary = string.Create(CultureInfo.InvariantCulture, $"{backups.Count} full BACKUPs of {Mib(backups.Average(b => (double)b.Bytes))} in {busy:0.0} s, {Mib(bytes / busy)}/s under the load");
        return (load, summary);
    }

    private static string[] LatencyRow(string name, LoadResult r, string backups) =>
        [name, r.OpsPerSecond.ToString("N0", CultureInfo.InvariantCulture), Ms(r.P50Ms), Ms(r.P99Ms), Ms(r.P999Ms), Ms(r.MaxMs), backups];

    private sealed record EfdbRun(TimeSpan Elapsed, long Lines, long Stored, long Skipped);

    /// <summary>Runs efdb to completion (stdout into <paramref name="output"/> when given, counting its lines); the time includes the process start.</summary>
    private static async Task<EfdbRun> EfdbAsync(string efdbDll, string[] args, string? output)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(efdbDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start efdb");
        var errors = process.StandardError.ReadToEndAsync();
        long lines = 0;
        string text = "";
        if (output is not null)
        {
            await using var file = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            var buffer = new byte[1 << 20];
            int n;
            while ((n = await process.StandardOutput.BaseStream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lines += buffer.AsSpan(0, n).Count((byte)'\n');
                await file.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            }
        }
        else
        {
            text = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        }

        await process.WaitForExitAsync().ConfigureAwait(false);
        var elapsed = watch.Elapsed;
        string stderr = await errors.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"efdb {string.Join(' ', args)} exited with {process.ExitCode}: {stderr}{text}");
        }

        return new EfdbRun(elapsed, lines, Count(text, "stored"), Count(text, "skipped"));
    }

    private static long Count(string text, string name)
    {
        string prefix = name + ": ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Writes the first <paramref name="streams"/> × <paramref name="perStream"/> lines of <paramref name="source"/> (runs of
    /// <paramref name="perStream"/> lines of one stream each, as the load wrote them) round robin: each stream's order kept,
    /// no two consecutive lines of one stream. Returns the number of lines written.
    /// </summary>
    private static int Interleave(string source, string target, int streams, int perStream)
    {
        var lines = File.ReadLines(source).Take(streams * perStream).ToList();
        var runs = lines.GroupBy(StreamOf).Select(g => g.ToList()).ToList();
        using var output = new StreamWriter(target, append: false, new UTF8Encoding(false));
        int written = 0;
        for (int i = 0; runs.Any(r => i < r.Count); i++)
        {
            foreach (var run in runs.Where(r => i < r.Count))
            {
                output.Write(run[i]);
                output.Write('\n');
                written++;
            }
        }

        return written;

        static string StreamOf(string json)
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.GetProperty("stream").GetString() ?? "";
        }
    }

    /// <summary>Appends <paramref name="events"/> events in ADDs of 100 to 1,000 streams per connection, 8 connections, 16 requests in flight each.</summary>
    private static void Load(int port, string prefix, int events, int dataBytes)
    {
        const int perAdd = 100;
        string pad = new('x', Math.Max(0, dataBytes - 20));
        PipelinedLoad.Run(port, connections: 8, depth: 16, (events + perAdd - 1) / perAdd, a =>
        {
            var argv = new List<string> { "ADD", $"{prefix}-{a % 1000}", "any" };
            for (int e = 0; e < perAdd && (a * perAdd) + e < events; e++)
            {
                argv.Add("Loaded");
                argv.Add(string.Create(CultureInfo.InvariantCulture, $"{{\"n\":{(a * perAdd) + e},\"pad\":\"{pad}\"}}"));
            }

            return [.. argv];
        });
    }

    /// <summary>The 1-minute load average (other processes on the machine), or "unknown".</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static long DirectoryBytes(string directory) => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private static string Mib(double bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 20):N0} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:N0} KiB");

    private static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.00} s");

    private static string Ms(double ms) => ms.ToString("0.###", CultureInfo.InvariantCulture);

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
