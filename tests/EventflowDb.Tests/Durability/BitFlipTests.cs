using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>
/// One flipped bit in a closed data directory (SPEC.md, "Storage integrity (v2)"): the server either refuses to start
/// with exit status 3 and an Error line naming the damaged file, or starts and serves every event exactly as before.
/// Serving fewer or different events is never acceptable, and neither is any other exit.
/// The event index's files (<c>index/</c>) are not flipped: they are derived data that FASTER writes without a
/// checksum of ours, a known gap (docs/architecture.md, "Recovery"): damage there can fail a read or miss a
/// duplicate, and the cure is deleting <c>index/</c> so that the next start rebuilds it from the log.
/// Knobs: <c>EFDB_SEED</c> (printed first), <c>EFDB_FLIPS</c> (default 30).
/// </summary>
public sealed class BitFlipTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const int StoreDamagedExitCode = 3;
    private const string FewerEvents = "serves fewer events";
    private const string MoreEvents = "serves more events";
    private const string ChangedEvents = "serves changed events";

    [Fact]
    public async Task A_flipped_bit_anywhere_makes_the_start_refuse_with_status_3_or_changes_nothing_served()
    {
        int seed = TestKnobs.Seed();
        int flips = TestKnobs.Int("EFDB_FLIPS", 30);
        TestOutput.WriteLine($"seed {seed} (EFDB_SEED={seed} repeats this run), {flips} flips (EFDB_FLIPS)");
        var random = new Random(seed);
        string closed = ServerProcess.NewTempDirectory();
        try
        {
            var store = await BuildClosedStoreAsync(closed, new Random(random.Next()), markers: false);
            var files = Inventory(closed);
            TestOutput.WriteLine($"closed store: {store.Log.Count} events, {store.Streams.Count} streams; files:\n{string.Join('\n', files.Select(f => $"  {f.Path} {f.Length} bytes, data up to {f.LastNonZero}"))}");
            var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
            var failures = new List<string>();
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < flips; i++)
            {
                var (file, offset, bit) = PickFlip(files, random);
                var (kind, detail) = await FlipAndStartAsync(closed, store, file, offset, bit, new Random(random.Next()));
                outcomes[$"{file.Kind}: {kind}"] = outcomes.GetValueOrDefault($"{file.Kind}: {kind}") + 1;
                string line = $"flip {i}: {file.Path} offset {offset} bit {bit}: {kind}{(detail is null ? "" : $": {detail}")}";
                TestOutput.WriteLine(line);
                if (!kind.StartsWith("ok", StringComparison.Ordinal))
                {
                    failures.Add(line);
                }
            }

            string summary = $"{flips} flips in {watch.Elapsed.TotalSeconds:F1} s; by file kind and outcome:\n{string.Join('\n', outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"  {o.Key}: {o.Value}"))}";
            TestOutput.WriteLine(summary);
            Assert.True(failures.Count == 0, $"{failures.Count} of {flips} flips broke the contract (seed {seed}; EFDB_SEED={seed} repeats it). {summary}\n{string.Join('\n', failures.Take(40))}");
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(closed);
        }
    }

    [Fact]
    public async Task A_flipped_bit_in_the_middle_of_a_closed_log_refuses_the_start_and_repair_keeps_what_lies_before_it()
    {
        int seed = TestKnobs.Seed();
        TestOutput.WriteLine($"seed {seed} (EFDB_SEED={seed} repeats this run)");
        string data = ServerProcess.NewTempDirectory();
        ServerProcess? running = null;
        try
        {
            var store = await BuildClosedStoreAsync(data, new Random(seed), markers: true);

            // A marker event in a segment with written segments before and after it.
            var segments = StoreFiles.LogSegments(data).Where(s => StoreFiles.StartsWithData(s.File.FullName)).ToList();
            Assert.True(segments.Count >= 3, $"the store should span at least 3 log segments, it has {segments.Count} with data");
            var inMiddle = store.Markers
                .Select(m => (Marker: m, Segment: segments.Select(s => (s.Number, s.File, At: StoreFiles.Find(s.File.FullName, Encoding.UTF8.GetBytes(m.Text)))).FirstOrDefault(s => s.At.Count > 0)))
                .Where(x => x.Segment.File is not null && x.Segment.Number > segments[0].Number && x.Segment.Number < segments[^1].Number)
                .ToList();
            Assert.True(inMiddle.Count > 0, "no marker event lies in a middle segment");
            var (marker, segment) = inMiddle[inMiddle.Count / 2];
            Assert.Single(segment.At);
            long offset = segment.At[0] + 7;
            var (before, after) = StoreFiles.FlipBit(segment.File.FullName, offset, 0);
            var damaged = File.ReadAllBytes(segment.File.FullName);
            long lost = store.Log.Count - marker.Position;
            TestOutput.WriteLine($"flipped bit 0 at offset {offset} of {segment.File.Name} (0x{before:x2} -> 0x{after:x2}), inside event {marker.Position} of {store.Log.Count}: {lost} events lie from there on");

            // Without --repair: exit status 3, and an Error line naming the file.
            var refused = await ServerProcess.StartOrExitAsync(new ServerSettings { DataDirectory = data });
            if (refused.Server is { } unexpected)
            {
                string served = await DescribeServedAsync(unexpected, store);
                await unexpected.DisposeAsync();
                Assert.Fail($"the server started on a log with a flipped bit in the middle of {segment.File.Name} (expected exit status {StoreDamagedExitCode}); it serves {served}:\n{unexpected.Output}");
            }

            Assert.True(refused.ExitCode == StoreDamagedExitCode, $"the server exited with status {refused.ExitCode}, expected {StoreDamagedExitCode}:\n{refused.Output}");
            Assert.True(NamesDamagedFile(refused.Output, segment.File.Name), $"no Error line says that {segment.File.Name} is damaged:\n{refused.Output}");

            // With --repair: it starts, keeps a copy of the damaged segment, says how many events were lost, serves what lies before.
            var repaired = await ServerProcess.StartOrExitAsync(new ServerSettings { DataDirectory = data, ExtraArgs = ["--repair"] });
            Assert.True(repaired.Started, $"the server did not start with --repair (status {repaired.ExitCode}):\n{repaired.Output}");
            var server = running = repaired.Server!;
            Track(server, 0);
            var copies = Directory.GetDirectories(data, "damaged-*");
            Assert.True(copies.Length == 1, $"expected one damaged-<UTC timestamp> directory in {data}, found: {string.Join(", ", Directory.GetFileSystemEntries(data).Select(Path.GetFileName))}");
            var copy = Directory.GetFiles(copies[0], segment.File.Name, SearchOption.AllDirectories);
            Assert.True(copy.Length == 1, $"{copies[0]} holds no copy of {segment.File.Name}: {string.Join(", ", Directory.GetFiles(copies[0], "*", SearchOption.AllDirectories))}");
            Assert.True(File.ReadAllBytes(copy[0]).AsSpan().SequenceEqual(damaged), $"{copy[0]} is not the damaged {segment.File.Name} as it was");
            Assert.True(
                server.Output.Split('\n').Any(l => (l.Contains(" WRN]", StringComparison.Ordinal) || l.Contains(" ERR]", StringComparison.Ordinal)) && Regex.IsMatch(l, $@"\b{lost} events\b")),
                $"no Warning or Error line says that {lost} events were lost (\"{lost} events ...\"):\n{server.Output}");

            var kept = store.Log.Take((int)marker.Position).ToList();
            await AssertServesAsync(server, kept, store);

            // The repaired store takes writes from where it was cut, and starts without --repair from now on.
            await using (var c = await server.OpenAuthenticatedRawAsync())
            {
                var added = Assert.Single(await c.EventsAsync("ADD", "after-repair", "any", "Repaired", "{}"));
                Assert.Equal(marker.Position, added.Position);
                kept.Add(added.Raw);
            }

            Assert.Equal(0, await server.StopAsync());
            await server.DisposeAsync();
            var again = await ServerProcess.StartOrExitAsync(new ServerSettings { DataDirectory = data });
            Assert.True(again.Started, $"the repaired store does not start without --repair (status {again.ExitCode}):\n{again.Output}");
            running = again.Server!;
            await using (var c = await running.OpenAuthenticatedRawAsync())
            {
                Assert.Equal(kept, (await c.ReadWholeLogAsync(100)).Select(e => e.Raw));
            }
        }
        finally
        {
            // Servers on a caller's data directory are not disposed with the test: kill the one still running.
            if (running is not null)
            {
                await running.DisposeAsync();
            }

            ServerProcess.TryDeleteDirectory(data);
        }
    }

    /// <summary>An Error line (Serilog's <c>ERR</c>) that says "damaged" and names <paramref name="fileName"/>.</summary>
    private static bool NamesDamagedFile(string output, string fileName) =>
        output.Split('\n').Any(l => l.Contains(" ERR]", StringComparison.Ordinal) && l.Contains("damaged", StringComparison.OrdinalIgnoreCase) && l.Contains(fileName, StringComparison.Ordinal));

    /// <summary>Copies the closed store, flips one bit, starts a server on the copy and classifies what it does.</summary>
    private static async Task<(string Kind, string? Detail)> FlipAndStartAsync(string closed, ClosedStore store, StoreFile file, long offset, int bit, Random random)
    {
        string copy = ServerProcess.NewTempDirectory();
        try
        {
            StoreFiles.CopyDirectory(closed, copy);
            var (before, after) = StoreFiles.FlipBit(Path.Combine(copy, file.Path), offset, bit);
            string flipped = $"0x{before:x2} -> 0x{after:x2}";
            StartOutcome outcome;
            try
            {
                outcome = await ServerProcess.StartOrExitAsync(new ServerSettings { DataDirectory = copy });
            }
            catch (ServerStartException e)
            {
                return ("FAIL hung", $"{flipped}; {OneLine(e.Message)}");
            }

            if (outcome.Server is null)
            {
                string name = Path.GetFileName(file.Path);
                if (outcome.ExitCode != StoreDamagedExitCode)
                {
                    return ($"FAIL exit {outcome.ExitCode}", $"{flipped}; {Problems(outcome.Output)}");
                }

                return NamesDamagedFile(outcome.Output, name)
                    ? ("ok refused", null)
                    : ("FAIL refused without an Error line naming the damaged file", $"{flipped}; {Problems(outcome.Output)}");
            }

            await using var server = outcome.Server;
            try
            {
                await AssertServesAsync(server, store.Log, store, random);
                return ("ok serves everything", null);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or IOException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                string what = new[] { FewerEvents, MoreEvents, ChangedEvents }.FirstOrDefault(w => e.Message.StartsWith(w, StringComparison.Ordinal)) ?? "fails to serve";
                return ($"FAIL started and {what}", $"{flipped}; {OneLine(e.Message)}; server said: {Problems(server.Output)}");
            }
        }
        finally
        {
            ServerProcess.TryDeleteDirectory(copy);
        }
    }

    private static string OneLine(string text)
    {
        string line = text.Replace("\r", "", StringComparison.Ordinal).Replace("\n", " | ", StringComparison.Ordinal);
        return line.Length <= 600 ? line : line[..600] + "...";
    }

    /// <summary>The Warning and Error lines of a server's output, shortened.</summary>
    private static string Problems(string output)
    {
        var lines = output.Split('\n').Where(l => l.Contains(" WRN]", StringComparison.Ordinal) || l.Contains(" ERR]", StringComparison.Ordinal) || l.Contains(" FTL]", StringComparison.Ordinal) || l.Contains("xception", StringComparison.Ordinal)).Take(4).Select(l => l.Trim().Length > 300 ? l.Trim()[..300] + "..." : l.Trim()).ToList();
        return lines.Count == 0 ? "(no warnings)" : string.Join(" | ", lines);
    }

    /// <summary>
    /// The server serves exactly <paramref name="log"/> (the first events of <paramref name="store"/>): counts, checksum's last id,
    /// GETALL byte for byte, every stream by GET, LISTSTREAMS; with a whole store, the checksum itself and idempotent re-sends too.
    /// </summary>
    private static async Task AssertServesAsync(ServerProcess server, List<string> log, ClosedStore store, Random? random = null)
    {
        bool whole = log.Count == store.Log.Count;
        await using var c = await server.OpenAuthenticatedRawAsync();
        var state = await StoreState.ReadAsync(c);
        var all = (await c.ReadWholeLogAsync(100)).Select(e => e.Raw).ToList();
        int same = all.Zip(log).TakeWhile(p => p.First == p.Second).Count();
        if (all.Count != log.Count)
        {
            throw new Xunit.Sdk.XunitException($"{(all.Count < log.Count ? FewerEvents : MoreEvents)}: GETALL returns {all.Count} events, expected {log.Count}; the first {same} are unchanged");
        }

        if (same < all.Count)
        {
            string was = log[same];
            string now = all[same];
            int at = was.AsSpan().CommonPrefixLength(now);
            int from = Math.Max(0, at - 30);
            throw new Xunit.Sdk.XunitException($"{ChangedEvents}: event {same} differs from character {at} of {was.Length}: was '{was[from..Math.Min(was.Length, at + 30)]}', now '{now[from..Math.Min(now.Length, at + 30)]}'");
        }

        Assert.Equal(log.Count, state.Events);
        Assert.Equal(log.Count == 0 ? StoredEvent.ZeroUlid : StoredEvent.Parse(log[^1]).Id, state.LastId);
        var parsed = log.Select(StoredEvent.Parse).ToList();
        var streams = parsed.GroupBy(e => e.Stream).ToDictionary(g => g.Key, g => g.Select(e => e.Raw).ToList(), StringComparer.Ordinal);
        Assert.Equal(streams.Count, state.Streams);
        if (whole)
        {
            Assert.Equal(store.State, state);
        }

        foreach (var stream in store.Streams.Keys)
        {
            var read = (await c.ReadWholeStreamAsync(stream, 100)).Select(e => e.Raw).ToList();
            var expected = streams.GetValueOrDefault(stream) ?? [];
            Assert.True(read.SequenceEqual(expected), $"GET {stream} returns {read.Count} events, not the {expected.Count} expected");
        }

        var listed = await c.ListAllStreamsAsync();
        Assert.Equal(streams.Count, listed.Count);
        if (whole)
        {
            Assert.Equal(store.Listed, listed);
        }

        if (whole && random is not null)
        {
            // Idempotent re-sends still find their message ids: nothing is written twice.
            foreach (var (request, stored) in store.Resends.OrderBy(_ => random.Next()).Take(3))
            {
                var reply = (await c.EventsAsync(request)).Select(e => e.Raw).ToList();
                Assert.True(reply.SequenceEqual(stored), "an ADD sent again with the same message ids came back different");
            }

            Assert.Equal(store.State, await StoreState.ReadAsync(c));
        }
    }

    private static async Task<string> DescribeServedAsync(ServerProcess server, ClosedStore store)
    {
        try
        {
            await using var c = await server.OpenAuthenticatedRawAsync();
            var all = await c.ReadWholeLogAsync(100);
            int same = all.Zip(store.Log).TakeWhile(p => p.First.Raw == p.Second).Count();
            return $"{all.Count} of {store.Log.Count} events, the first {same} unchanged";
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException or IOException or TimeoutException)
        {
            return $"an error: {OneLine(e.Message)}";
        }
    }

    private static string Shorten(string raw) => raw.Length <= 400 ? raw : $"{raw[..300]}... ({raw.Length} chars)";

    /// <summary>What a closed store held, read back before it was closed.</summary>
    private sealed record ClosedStore(
        List<string> Log,
        Dictionary<string, List<string>> Streams,
        List<string> Listed,
        StoreState State,
        List<(string[] Request, List<string> Stored)> Resends,
        List<(string Text, long Position)> Markers);

    /// <summary>One file of a closed data directory.</summary>
    private sealed record StoreFile(string Path, string Kind, long Length, long LastNonZero);

    /// <summary>
    /// Writes a few thousand events (12 streams, batches of 1 to 8, a third with message ids, every 30th ADD one large
    /// event of 300 to 900 KiB) into a store with 4 MiB segments and a checkpoint every second, so the log spans several
    /// segments; then stops it cleanly and returns what it served.
    /// </summary>
    private async Task<ClosedStore> BuildClosedStoreAsync(string data, Random random, bool markers)
    {
        StoreFiles.CreateWithSegmentBits(data);
        var started = await ServerProcess.StartOrExitAsync(new ServerSettings { DataDirectory = data, ExtraArgs = ["--checkpoint-interval", "1"] });
        Assert.True(started.Started, $"the server did not start (status {started.ExitCode}):\n{started.Output}");
        await using var server = started.Server!;
        var resends = new List<(string[] Request, List<string> Stored)>();
        var markerList = new List<(string Text, long Position)>();
        string[] streams = [.. Enumerable.Range(0, 11).Select(i => $"flip-{i}"), Guid.NewGuid().ToString()];
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            int events = 0;
            for (int n = 0; events < 3000; n++)
            {
                string stream = streams[random.Next(streams.Length)];
                string[] request;
                bool withIds = false;
                if (markers && n % 50 == 25)
                {
                    string text = $"MARKER-{n}-{Guid.NewGuid():N}";
                    request = ["ADD", stream, "any", "Marker", $$"""{"marker":"{{text}}"}"""];
                    var stored = Assert.Single(await c.EventsAsync(request));
                    markerList.Add((text, stored.Position));
                    events++;
                    continue;
                }

                int size = random.Next(1, 9);
                int large = n % 30 == 29 ? random.Next(300 * 1024, 900 * 1024) : 0;
                if (random.Next(3) == 0)
                {
                    withIds = true;
                    var list = new JsonArray();
                    for (int i = 0; i < size; i++)
                    {
                        list.Add(new JsonObject
                        {
                            ["type"] = $"T{i % 3}",
                            ["data"] = new JsonObject { ["n"] = n, ["i"] = i, ["pad"] = new string((char)('a' + random.Next(26)), i == 0 && large > 0 ? large : random.Next(0, 200)) },
                            ["metadata"] = new JsonObject { ["by"] = "flip" },
                            ["message_id"] = $"m{n}-{i}",
                        });
                    }

                    request = ["ADD", new JsonObject { ["stream"] = stream, ["version"] = "any", ["events"] = list }.ToJsonString()];
                }
                else
                {
                    var args = new List<string> { "ADD", stream, "any" };
                    for (int i = 0; i < size; i++)
                    {
                        args.Add($"T{i % 3}");
                        args.Add(i % 4 == 3 ? $"plain {n} {i}" : $$"""{"n":{{n}},"i":{{i}},"pad":"{{new string('p', i == 0 && large > 0 ? large : random.Next(0, 200))}}"}""");
                    }

                    request = [.. args];
                }

                var reply = await c.EventsAsync(request);
                Assert.Equal(size, reply.Count);
                events += size;
                if (withIds)
                {
                    resends.Add((request, [.. reply.Select(e => e.Raw)]));
                }
            }
        }

        ClosedStore store;
        await using (var c = await server.OpenAuthenticatedRawAsync())
        {
            var state = await StoreState.ReadAsync(c);
            var log = await c.ReadWholeLogAsync(100);
            EventAssert.WholeLog(log);
            var byStream = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var stream in streams)
            {
                byStream[stream] = [.. (await c.ReadWholeStreamAsync(stream, 100)).Select(e => e.Raw)];
            }

            store = new ClosedStore([.. log.Select(e => e.Raw)], byStream, await c.ListAllStreamsAsync(), state, resends, markerList);
        }

        Assert.Equal(0, await server.StopAsync());
        return store;
    }

    /// <summary>Every file of the closed store with its kind: log segment, snapshot, meta, index or other.</summary>
    private static List<StoreFile> Inventory(string data) =>
        [.. Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories)
            .Select(f =>
            {
                string rel = Path.GetRelativePath(data, f);
                string name = Path.GetFileName(f);
                string kind = StoreFiles.SegmentNumber(name) is not null && rel.StartsWith("log", StringComparison.Ordinal) ? "segment"
                    : name == "snapshot.bin" ? "snapshot"
                    : name == "store.meta" ? "meta"
                    : rel.StartsWith("index", StringComparison.Ordinal) ? "index"
                    : "other";
                return new StoreFile(rel, kind, new FileInfo(f).Length, StoreFiles.LastNonZeroByte(f));
            })
            .Where(f => f.Length > 0)
            .OrderBy(f => f.Path, StringComparer.Ordinal)];

    /// <summary>A file (log segments most often, never the index's), an offset (half the time within the file's written part) and a bit.</summary>
    private static (StoreFile File, long Offset, int Bit) PickFlip(List<StoreFile> files, Random random)
    {
        int roll = random.Next(100);
        string kind = roll < 70 ? "segment" : roll < 85 ? "snapshot" : roll < 93 ? "meta" : "other";
        var candidates = files.Where(f => f.Kind == kind).ToList();
        if (candidates.Count == 0)
        {
            candidates = files.Where(f => f.Kind == "segment").ToList();
        }

        var file = candidates[random.Next(candidates.Count)];
        long offset = file.LastNonZero >= 0 && random.Next(2) == 0
            ? random.NextInt64(file.LastNonZero + 1)
            : random.NextInt64(file.Length);
        return (file, offset, random.Next(8));
    }
}
