using EventflowDb.Storage;
using NUlid;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

public sealed class TornTailTests
{
    private static async Task<(TestStore Store, long LastEntryEnd, StoreChecksum BeforeLast)> WriteAndCloseAsync(bool prefill = true)
    {
        var t = await TestStore.CreateAsync(prefill ? null : o => o with { PrefillLogSegments = false });
        for (int i = 0; i < 20; i++)
        {
            await t.AppendAsync($"s-{i % 3}", ExpectedVersion.Any, TestStore.Event(data: $"{{\"i\":{i},\"pad\":\"{new string('p', 40)}\"}}", messageId: $"m-{i}"));
        }

        var beforeLast = t.Store.Checksum;
        await t.AppendAsync("s-last", ExpectedVersion.Any, TestStore.Event(data: $"{{\"last\":\"{new string('q', 100)}\"}}", messageId: "m-last"));
        long end = t.Store.AppliedEnd;
        await t.CrashAsync();
        return (t, end, beforeLast);
    }

    private static void Patch(string path, long offset, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    private static async Task AssertRepairedAndUsableAsync(TestStore t, int expectedEvents)
    {
        Assert.Equal(expectedEvents, t.Store.EventCount);
        var all = await t.ReadAllAsync(Ulid.Empty);
        Assert.Equal(expectedEvents, all.Count);
        Assert.Equal(Enumerable.Range(0, expectedEvents).Select(i => (long)i), all.Select(e => e.GetProperty("position").GetInt64()));

        var added = await t.AppendAsync("after", ExpectedVersion.NoStream, TestStore.Event(messageId: "after-1"), TestStore.Event());
        Assert.Equal(AppendStatus.Appended, added.Status);
        var checksum = t.Store.Checksum;
        await t.CrashAndReopenAsync();
        Assert.Null(t.Store.LastRecovery.TailProblem);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(expectedEvents + 2, t.Store.EventCount);
        Assert.Equal(2, (await t.ReadStreamAsync("after")).Count);
        Assert.Equal(AppendStatus.Duplicate, (await t.AppendAsync("after", ExpectedVersion.Any, TestStore.Event(messageId: "after-1"))).Status);
        await t.ReopenAsync();
        Assert.Equal(expectedEvents + 2, t.Store.EventCount);
    }

    private static void AssertCutLogged(TestStore t)
        => Assert.Contains(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("cut a torn tail", StringComparison.Ordinal) && m.Contains(t.LogSegment(), StringComparison.Ordinal));

    [Fact]
    public async Task Garbage_appended_to_the_end_of_the_segment_file_is_cut_and_reported()
    {
        var (t, _, _) = await WriteAndCloseAsync(prefill: false);
        await using var _t = t;
        var before = new FileInfo(t.LogSegment()).Length;
        using (var file = new FileStream(t.LogSegment(), FileMode.Append))
        {
            file.Write(Enumerable.Range(1, 700).Select(i => (byte)(i * 7)).ToArray());
        }

        Assert.True(new FileInfo(t.LogSegment()).Length > before);
        await t.OpenAsync();
        Assert.NotNull(t.Store.LastRecovery.TailProblem);
        Assert.True(t.Store.LastRecovery.IgnoredBytes > 0);
        AssertCutLogged(t);
        await AssertRepairedAndUsableAsync(t, 21);
    }

    [Fact]
    public async Task Garbage_right_after_the_last_record_is_cut_and_reported()
    {
        var (t, end, _) = await WriteAndCloseAsync();
        await using var _t = t;

        // Past the last entry lies FasterLog's closing commit record; write a plausible-looking record after that too.
        Patch(t.LogSegment(), end + 64, [0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        await t.OpenAsync();
        Assert.NotNull(t.Store.LastRecovery.TailProblem);
        AssertCutLogged(t);
        await AssertRepairedAndUsableAsync(t, 21);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_last_entry_written_only_in_part_is_a_torn_tail_and_cut(bool tornLength)
    {
        var (t, end, beforeLast) = await WriteAndCloseAsync();
        await using var _t = t;

        // The crash interrupted the last write: the entry's second half and its commit record never reached the disk.
        long start = StartOfLast(t, end);
        long half = start + ((end - start) / 2);
        Patch(t.LogSegment(), half, new byte[PageEnd(end) - half]);
        if (tornLength)
        {
            Patch(t.LogSegment(), start, [0xFF, 0xFF, 0x7F, 0x00]);
        }

        await t.OpenAsync();
        Assert.Contains(tornLength ? "does not fit" : "checksum mismatch", t.Store.LastRecovery.TailProblem!, StringComparison.Ordinal);
        AssertCutLogged(t);
        Assert.Equal(beforeLast, t.Store.Checksum);
        Assert.Empty(await t.ReadStreamAsync("s-last"));

        // The lost event's message id is free again.
        Assert.Equal(AppendStatus.Appended, (await t.AppendAsync("s-last", ExpectedVersion.NoStream, TestStore.Event(messageId: "m-last"))).Status);
        await AssertRepairedAndUsableAsync(t, 21);
    }

    [Fact]
    public async Task A_damaged_entry_followed_by_its_commit_record_refuses_to_open_until_repaired()
    {
        var (t, end, beforeLast) = await WriteAndCloseAsync();
        await using var _t = t;

        // The commit record after the entry survived, so the entry was acknowledged: this is damage, not a torn write.
        long start = StartOfLast(t, end);
        Patch(t.LogSegment(), end - 40, [(byte)'X', (byte)'Y', (byte)'Z']);
        var damaged = File.ReadAllBytes(t.LogSegment());

        var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
        Assert.Equal(t.LogSegment(), refused.Path);
        Assert.Equal(start, refused.Offset);
        Assert.Contains("checksum mismatch", refused.Reason, StringComparison.Ordinal);
        Assert.Contains(t.Log.Messages(LogEventLevel.Error), m => m.Contains(t.LogSegment(), StringComparison.Ordinal) && m.Contains($"offset {start}", StringComparison.Ordinal));
        Assert.Equal(damaged, File.ReadAllBytes(t.LogSegment()));

        await t.OpenAsync(repair: true);
        var report = t.Store.LastRecovery;
        Assert.Equal(1, report.EventsLostByRepair);
        Assert.NotNull(report.DamagedFilesDirectory);
        Assert.StartsWith(Path.Combine(t.Directory, "damaged-"), report.DamagedFilesDirectory, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(Path.Combine(report.DamagedFilesDirectory, "events.log.0")));
        Assert.Contains(t.Log.Messages(LogEventLevel.Error), m => m.Contains("1 events", StringComparison.Ordinal));
        Assert.Equal(beforeLast, t.Store.Checksum);
        await AssertRepairedAndUsableAsync(t, 20);
    }

    private static long PageEnd(long address) => (address | 0xFFFF) + 1;

    private static long StartOfLast(TestStore t, long end)
    {
        // The last entry is the only record of stream s-last: walk the segment's records to the one ending at 'end'.
        using var file = new FileStream(t.LogSegment(), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[end];
        file.ReadExactly(bytes);
        long address = 64;
        long last = -1;
        while (address < end)
        {
            int length = BitConverter.ToInt32(bytes, (int)address);
            if (length == 0)
            {
                address = (address | 0xFFFF) + 1;
                continue;
            }

            last = address;
            address += 4 + ((Math.Abs(length) + 3) & ~3);
        }

        Assert.Equal(end, address);
        return last;
    }
}
