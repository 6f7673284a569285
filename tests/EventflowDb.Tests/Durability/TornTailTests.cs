using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Durability;

/// <summary>Damage at the end of the log segment on disk: the server must start and serve a consistent store.</summary>
public sealed partial class TornTailTests(ITestOutputHelper output) : IntegrationTest(output)
{
    /// <summary>
    /// The active log segment: among the event log's segment files (<c>log/events.log.N</c>, or <c>log*.N</c>), the
    /// highest-numbered one holding data. Segments are preallocated and zero-filled ahead, so the data ends at the
    /// last non-zero byte.
    /// </summary>
    private FileInfo FindLogSegment(string dataDirectory)
    {
        var files = new DirectoryInfo(dataDirectory).EnumerateFiles("*", SearchOption.AllDirectories).ToList();
        TestOutput.WriteLine("data directory:\n" + string.Join('\n', files.Select(f => $"  {Path.GetRelativePath(dataDirectory, f.FullName)} {f.Length}")));
        var segments = files
            .Select(f => (File: f, Match: SegmentName().Match(f.Name)))
            .Where(x => x.Match.Success && !x.File.Name.StartsWith("index", StringComparison.OrdinalIgnoreCase))
            .Select(x => (x.File, Number: int.Parse(x.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .Where(x => LastNonZeroByte(x.File.FullName) >= 0)
            .OrderByDescending(x => x.Number)
            .ToList();
        Assert.True(segments.Count > 0, $"no log segment with data under {dataDirectory}: {string.Join(", ", files.Select(f => f.Name))}");
        return segments[0].File;
    }

    [GeneratedRegex(@"^(?:log|[A-Za-z0-9_-]+\.log)\.(\d+)$")]
    private static partial Regex SegmentName();

    /// <summary>Offset of the last non-zero byte, or -1.</summary>
    private static long LastNonZeroByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[4 << 20];
        long end = file.Length;
        while (end > 0)
        {
            int chunk = (int)Math.Min(buffer.Length, end);
            long start = end - chunk;
            file.Position = start;
            file.ReadExactly(buffer, 0, chunk);
            int last = buffer.AsSpan(0, chunk).LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
            {
                return start + last;
            }

            end = start;
        }

        return -1;
    }

    /// <summary>
    /// End of the last FasterLog record in the segment, walking the record headers (4-byte little-endian length,
    /// negative for commit records, payload padded to 4 bytes, zero length = rest of the page unused; the first record
    /// of segment 0 at 64). Falls back to just after the last non-zero byte when the walk does not end there.
    /// </summary>
    private long EndOfRecords(string path, long lastNonZero)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long pageSize = 1L << new EventflowDb.Storage.StoreOptions { DataDirectory = "" }.LogPageSizeBits;
        var header = new byte[4];
        long address = 64;
        while (address + 4 <= file.Length && address <= lastNonZero)
        {
            file.Position = address;
            file.ReadExactly(header);
            int length = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (length == 0)
            {
                address = (address & ~(pageSize - 1)) + pageSize;
                continue;
            }

            address += 4 + ((Math.Abs((long)length) + 3) & ~3L);
        }

        if (address <= lastNonZero || address > lastNonZero + 4 + 3)
        {
            TestOutput.WriteLine($"record walk ended at {address}, last non-zero byte at {lastNonZero}: using {lastNonZero + 1}");
            return lastNonZero + 1;
        }

        return address;
    }

    private static byte[] Garbage(int length)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] |= 1;
        }

        return bytes;
    }

    [Fact]
    public async Task Garbage_after_the_committed_tail_is_ignored()
    {
        var server = await StartServerAsync();
        var written = await RestartTests.WriteSomeAsync(server, "torn", 40);
        var before = await RestartTests.Snapshot.ReadAsync(server);
        Assert.Equal(0, await server.StopAsync());

        var segment = FindLogSegment(server.DataDirectory);
        long tail = LastNonZeroByte(segment.FullName);
        long end = EndOfRecords(segment.FullName, tail);
        TestOutput.WriteLine($"log segment {segment.FullName}: length {segment.Length}, last non-zero byte at {tail}, records end at {end}");
        await using (var file = new FileStream(segment.FullName, FileMode.Open, FileAccess.Write))
        {
            // A torn record right after the last one: a plausible length header, then noise.
            var torn = Garbage(4096);
            BinaryPrimitives.WriteInt32LittleEndian(torn, 1000);
            file.Position = end;
            await file.WriteAsync(torn);

            // And noise at the start of the next page (a multi-page flush torn after its first page).
            long pageSize = 1L << new EventflowDb.Storage.StoreOptions { DataDirectory = "" }.LogPageSizeBits;
            long nextPage = (end & ~(pageSize - 1)) + pageSize;
            if (nextPage + 4096 <= file.Length)
            {
                file.Position = nextPage;
                await file.WriteAsync(Garbage(4096));
            }
        }

        await server.RestartAsync();
        var after = await RestartTests.Snapshot.ReadAsync(server);
        before.AssertSameStore(after);
        Assert.Equal(written.Select(e => e.Raw), after.Log);

        var more = await RestartTests.WriteSomeAsync(server, "torn-more", 5);
        Assert.Equal(written.Count, more[0].Position);
        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        Assert.Equal([.. written.Select(e => e.Raw), .. more.Select(e => e.Raw)], (await RestartTests.Snapshot.ReadAsync(server)).Log);
        await server.KillAsync();
        await server.RestartAsync();
        Assert.Equal([.. written.Select(e => e.Raw), .. more.Select(e => e.Raw)], (await RestartTests.Snapshot.ReadAsync(server)).Log);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_overwritten_tail_leaves_a_consistent_prefix(bool killed)
    {
        var server = await StartServerAsync();
        var written = await RestartTests.WriteSomeAsync(server, "overwrite", 40);
        if (killed)
        {
            await server.KillAsync();
        }
        else
        {
            Assert.Equal(0, await server.StopAsync());
        }

        var segment = FindLogSegment(server.DataDirectory);
        long tail = LastNonZeroByte(segment.FullName);
        Assert.True(tail > 300, $"log segment {segment.FullName} has its last non-zero byte at {tail}");
        long start = tail - 299;
        TestOutput.WriteLine($"log segment {segment.FullName}: length {segment.Length}, overwriting bytes {start}..{tail}");
        await using (var file = new FileStream(segment.FullName, FileMode.Open, FileAccess.Write))
        {
            file.Position = start;
            await file.WriteAsync(Garbage(300));
        }

        // After a clean stop the checkpoint covers the overwritten events: damage, so the server refuses to start and
        // --repair cuts. After a kill the overwrite may also have hit the last commit record: then it is a torn tail.
        var refused = await Record.ExceptionAsync(() => server.RestartAsync());
        if (refused is not null || !killed)
        {
            var exited = Assert.IsType<ServerStartException>(refused);
            Assert.Equal(3, exited.ExitCode);
            Assert.Contains($"{segment.FullName} at offset", exited.Message, StringComparison.Ordinal);
            await server.RestartAsync("--repair");
            Assert.Contains("Repair: cut the event log", server.Output, StringComparison.Ordinal);
            Assert.Single(Directory.GetDirectories(server.DataDirectory, "damaged-*"));
        }

        var snapshot = await RestartTests.Snapshot.ReadAsync(server);
        var log = StoredEvent.ParseAll(snapshot.Log);
        TestOutput.WriteLine($"{log.Count} of {written.Count} events survived");
        Assert.True(log.Count <= written.Count);
        for (int i = 0; i < log.Count; i++)
        {
            Assert.True(log[i].Raw == written[i].Raw, $"event {i} is not the one written:\nwritten: {written[i].Raw}\nread:    {log[i].Raw}");
        }

        // Streams agree with the log, and each stream accepts the next version.
        await using (var c = await server.OpenRawAsync())
        {
            foreach (var stream in written.Select(e => e.Stream).Distinct())
            {
                var events = await c.ReadWholeStreamAsync(stream);
                EventAssert.WholeStream(events, stream);
                Assert.Equal(log.Where(e => e.Stream == stream).Select(e => e.Raw), events.Select(e => e.Raw));
                var next = await c.EventsAsync("ADD", stream, events.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "After", "x");
                Assert.Equal(events.Count, Assert.Single(next).Version);
            }
        }

        var grown = await RestartTests.Snapshot.ReadAsync(server);
        Assert.Equal(snapshot.Log, grown.Log.Take(snapshot.Log.Count));
        Assert.Equal(0, await server.StopAsync());
        await server.RestartAsync();
        grown.AssertSameStore(await RestartTests.Snapshot.ReadAsync(server));
        await server.KillAsync();
        await server.RestartAsync();
        grown.AssertSameStore(await RestartTests.Snapshot.ReadAsync(server));
    }
}
