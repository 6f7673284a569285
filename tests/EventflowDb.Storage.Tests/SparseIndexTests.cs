using System.Buffers.Binary;
using System.IO.Hashing;
using EventflowDb.Storage;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// Version keys are sparse inside entries that are read whole (<see cref="VersionKeys"/>): every start version of
/// a stream must still read correctly, through appends, replays and the index rebuild.
/// </summary>
public sealed class SparseIndexTests
{
    private const string Stream = "mixed-1";

    /// <summary>
    /// Single events, small batches (sparse keys, 37 and 9 events: strides that do not line up), and a batch of
    /// large events over the whole-entry read limit (a key per version; the test store's limit is 32 KiB).
    /// </summary>
    private static async Task<int> WriteMixedAsync(TestStore t)
    {
        int count = 0;
        async Task AddAsync(params NewEvent[] events)
        {
            var result = await t.AppendAsync(Stream, ExpectedVersion.Exact(count), events);
            Assert.Equal(AppendStatus.Appended, result.Status);
            count += events.Length;
        }

        await AddAsync(TestStore.Event());
        await AddAsync(Enumerable.Range(0, 37).Select(i => TestStore.Event(data: $"{{\"i\":{i}}}")).ToArray());
        await AddAsync(TestStore.Event(), TestStore.Event());
        string large = $"\"{new string('x', 2000)}\"";
        await AddAsync(Enumerable.Range(0, 20).Select(_ => TestStore.Event(data: large)).ToArray());
        await AddAsync(Enumerable.Range(0, 9).Select(i => TestStore.Event(messageId: $"m-{i}")).ToArray());
        await t.AppendAsync("other", ExpectedVersion.Any, Enumerable.Range(0, 50).Select(_ => TestStore.Event()).ToArray());
        await AddAsync(TestStore.Event());
        return count;
    }

    private static async Task AssertEveryStartReadsAsync(TestStore t, int count)
    {
        for (int from = 0; from < count; from++)
        {
            foreach (int limit in new[] { 1, 5, 1000 })
            {
                var events = await t.ReadStreamAsync(Stream, from, limit);
                int expected = Math.Min(limit, count - from);
                Assert.Equal(expected, events.Count);
                for (int i = 0; i < events.Count; i++)
                {
                    Assert.Equal(from + i, events[i].GetProperty("version").GetInt64());
                    Assert.Equal(Stream, events[i].GetProperty("stream").GetString());
                }
            }
        }
    }

    [Fact]
    public async Task Every_start_version_reads_correctly_after_appends_replay_and_full_rebuild()
    {
        await using var t = await TestStore.CreateAsync();
        int count = await WriteMixedAsync(t);
        Assert.Equal(70, count);
        await AssertEveryStartReadsAsync(t, count);

        // Replay of the tail after a checkpoint re-indexes with the same rule.
        await t.Store.CheckpointAsync();
        await t.AppendAsync(Stream, ExpectedVersion.Exact(count), Enumerable.Range(0, 30).Select(_ => TestStore.Event()).ToArray());
        count += 30;
        t.Store.SkipFinalCheckpoint = true;
        await t.ReopenAsync();
        Assert.Equal(1, t.Store.LastRecovery.ReplayedEntries);
        await AssertEveryStartReadsAsync(t, count);

        // A whole-log replay into an empty index.
        t.Store.SkipFinalCheckpoint = true;
        await t.Store.DisposeAsync();
        File.Delete(Path.Combine(t.Directory, "snapshot.bin"));
        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        await AssertEveryStartReadsAsync(t, count);

        // Versions are checked against the same count, and message ids still dedupe inside a sparse entry.
        Assert.Equal(AppendStatus.WrongVersionConflict, (await t.AppendAsync(Stream, ExpectedVersion.Exact(count - 1), TestStore.Event())).Status);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync(Stream, ExpectedVersion.Any, TestStore.Event(messageId: "m-4"))).Status);
    }

    [Fact]
    public async Task A_version_1_snapshot_is_read_and_the_index_is_rebuilt_from_the_whole_log()
    {
        await using var t = await TestStore.CreateAsync();
        int count = await WriteMixedAsync(t);
        var checksum = t.Store.Checksum;
        await t.Store.DisposeAsync();
        RewriteAsVersion1(Path.Combine(t.Directory, "snapshot.bin"));

        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        Assert.Contains(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("rebuilding the index from the whole log", StringComparison.Ordinal));
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(count + 50, t.Store.EventCount);
        await AssertEveryStartReadsAsync(t, count);

        // The open checkpointed in the new format: the next one trusts it.
        await t.ReopenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.DoesNotContain(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("rebuilding", StringComparison.Ordinal));
        await AssertEveryStartReadsAsync(t, count);
    }

    [Fact]
    public async Task A_snapshot_whose_index_may_cover_entries_past_the_log_end_is_not_trusted()
    {
        await using var t = await TestStore.CreateAsync();
        int count = await WriteMixedAsync(t);
        await t.Store.DisposeAsync();

        // As if the index checkpoint had indexed entries that a crash then lost: its upper bound lies past the log.
        RewriteIndexUpperAddress(Path.Combine(t.Directory, "snapshot.bin"), upper => upper + 4096);

        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        Assert.Contains(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("below the", StringComparison.Ordinal));
        await AssertEveryStartReadsAsync(t, count);
    }

    [Fact]
    public async Task The_snapshot_records_an_index_upper_bound_at_or_past_what_it_covers()
    {
        await using var t = await TestStore.CreateAsync();
        await WriteMixedAsync(t);
        await t.Store.CheckpointAsync();
        var (covered, upper) = ReadAddresses(Path.Combine(t.Directory, "snapshot.bin"));
        Assert.True(upper >= covered, $"upper {upper} below covered {covered}");
        Assert.True(upper <= covered + 4096, $"upper {upper} far past covered {covered} on an idle store");
    }

    // Layout of version 2: magic, covered, events, entries, last id (16), hash, epoch (4), two tokens (16 each),
    // taken-at, index upper bound, then the tables; an XxHash64 of everything before it closes the file.
    private const int CoveredOffset = 8;
    private const int UpperOffset = 8 + 8 + 8 + 8 + 16 + 8 + 4 + 16 + 16 + 8;

    private static (long Covered, long Upper) ReadAddresses(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0x3250414E53464645UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(CoveredOffset)), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(UpperOffset)));
    }

    private static void RewriteAsVersion1(string path) => RewriteBody(path, body =>
    {
        var v1 = body.Take(UpperOffset).Concat(body.Skip(UpperOffset + 8)).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(v1, 0x3150414E53464645UL);
        return v1;
    });

    private static void RewriteIndexUpperAddress(string path, Func<long, long> change) => RewriteBody(path, body =>
    {
        long upper = BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(UpperOffset));
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(UpperOffset), change(upper));
        return body;
    });

    /// <summary>Rewrites the snapshot's body (everything before its closing hash) and seals it with a new hash.</summary>
    private static void RewriteBody(string path, Func<byte[], byte[]> rewrite)
    {
        var bytes = File.ReadAllBytes(path);
        var body = rewrite(bytes.AsSpan(0, bytes.Length - 8).ToArray());
        var file = new byte[body.Length + 8];
        body.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(body.Length), XxHash64.HashToUInt64(body));
        File.WriteAllBytes(path, file);
    }
}
