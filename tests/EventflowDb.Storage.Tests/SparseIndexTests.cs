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
        await t.CrashAndReopenAsync();
        Assert.Equal(1, t.Store.LastRecovery.ReplayedEntries);
        await AssertEveryStartReadsAsync(t, count);

        // A whole-log replay into an empty index.
        await t.CrashAsync();
        File.Delete(Path.Combine(t.Directory, "snapshot.bin"));
        await t.OpenAsync();
        Assert.False(t.Store.LastRecovery.FromSnapshot);
        await AssertEveryStartReadsAsync(t, count);

        // Versions are checked against the same count, and message ids still dedupe inside a sparse entry.
        Assert.Equal(AppendStatus.WrongVersionConflict, (await t.AppendAsync(Stream, ExpectedVersion.Exact(count - 1), TestStore.Event())).Status);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync(Stream, ExpectedVersion.Any, TestStore.Event(messageId: "m-4"))).Status);
    }

    [Fact]
    public async Task A_version_1_snapshot_and_its_index_are_used_without_a_rebuild()
    {
        await using var t = await TestStore.CreateAsync();
        int count = await WriteMixedAsync(t);
        var checksum = t.Store.Checksum;
        await t.Store.DisposeAsync();

        // A version 1 snapshot does not record how far its index reaches: keys past the log's end are checked on read.
        RewriteAsVersion1(Path.Combine(t.Directory, "snapshot.bin"));
        await t.OpenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(0, t.Store.LastRecovery.ReplayedEntries);
        Assert.DoesNotContain(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("rebuilding", StringComparison.Ordinal));
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(count + 50, t.Store.EventCount);
        await AssertEveryStartReadsAsync(t, count);

        await t.ReopenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        await AssertEveryStartReadsAsync(t, count);
    }

    [Fact]
    public async Task Index_keys_of_entries_a_crash_lost_are_never_served_and_need_no_rebuild()
    {
        await using var t = await TestStore.CreateAsync();
        int count = await WriteMixedAsync(t);
        await t.Store.CheckpointAsync();
        string snapshotPath = Path.Combine(t.Directory, "snapshot.bin");
        var first = File.ReadAllBytes(snapshotPath);
        long covered = BinaryPrimitives.ReadInt64LittleEndian(first.AsSpan(CoveredOffset));

        // Entries the index checkpoint will hold keys of: one event each, so every version is keyed, and message ids.
        for (int i = 0; i < 40; i++)
        {
            var lost = await t.AppendAsync(Stream, ExpectedVersion.Any, TestStore.Event(data: $"{{\"lost\":{i}}}", messageId: $"lost-{i}"));
            Assert.Equal(AppendStatus.Appended, lost.Status);
        }

        await t.Store.CheckpointAsync();
        var second = File.ReadAllBytes(snapshotPath);
        await t.CrashAsync();

        // As if the crash had come after the index checkpoint but before those entries reached the disk: the first
        // snapshot, naming the second index checkpoint (which holds keys of the lost entries), and a log that ends
        // where the first snapshot does.
        RewriteBody(snapshotPath, _ =>
        {
            var body = first.AsSpan(0, first.Length - 8).ToArray();
            second.AsSpan(TokensOffset, 32).CopyTo(body.AsSpan(TokensOffset));
            second.AsSpan(UpperOffset, 8).CopyTo(body.AsSpan(UpperOffset));
            return body;
        });
        using (var log = new FileStream(Path.Combine(t.Directory, "log", "events.log.0"), FileMode.Open, FileAccess.Write))
        {
            log.Position = covered;
            log.Write(new byte[log.Length - covered]);
        }

        await t.OpenAsync();
        Assert.True(t.Store.LastRecovery.FromSnapshot);
        Assert.Equal(covered, t.Store.LastRecovery.Tail);
        Assert.DoesNotContain(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("rebuilding", StringComparison.Ordinal));
        Assert.Equal(count, (await t.ReadStreamAsync(Stream, 0, 10_000)).Count);

        // New entries take the lost versions and addresses, keyed sparsely: the lost keys in between must not be used.
        var batch = Enumerable.Range(0, 40).Select(i => TestStore.Event(data: $"{{\"new\":{i}}}")).ToArray();
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync(Stream, ExpectedVersion.Exact(count), batch)).Status);
        count += 40;
        await AssertEveryStartReadsAsync(t, count);
        var tail = await t.ReadStreamAsync(Stream, count - 40, 40);
        Assert.All(tail, e => Assert.True(e.GetProperty("data").TryGetProperty("new", out _)));

        // A lost event's message id is free again.
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync(Stream, ExpectedVersion.Any, TestStore.Event(messageId: "lost-3"))).Status);
        count++;

        // The floor under which keys are trusted survives a restart.
        await t.ReopenAsync();
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
    private const int TokensOffset = 8 + 8 + 8 + 8 + 16 + 8 + 4;
    private const int UpperOffset = TokensOffset + 16 + 16 + 8;

    private static (long Covered, long Upper) ReadAddresses(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0x3350414E53464645UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(CoveredOffset)), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(UpperOffset)));
    }

    private static void RewriteAsVersion1(string path) => RewriteBody(path, body =>
    {
        var v1 = body.Take(UpperOffset).Concat(body.Skip(UpperOffset + 8)).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(v1, 0x3150414E53464645UL);
        return v1;
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
