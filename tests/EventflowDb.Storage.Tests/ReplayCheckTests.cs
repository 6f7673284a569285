using System.Buffers.Binary;
using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// Replay accepts a well-formed entry only if it continues the log: an epoch no older than the snapshot's, and ids
/// above the last one. Entries are forged here with valid checksums, as bytes left from an older run could be.
/// </summary>
public sealed class ReplayCheckTests
{
    private static async Task<(TestStore Store, long RecordsEnd, byte[] LastRecord)> WriteAndCloseAsync()
    {
        var t = await TestStore.CreateAsync(o => o with { PrefillLogSegments = false });
        for (int i = 0; i < 10; i++)
        {
            await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event(data: $"{{\"i\":{i}}}"));
        }

        await t.Store.DisposeAsync();
        var bytes = File.ReadAllBytes(t.LogSegment());
        long address = LogLayout.FirstValidAddress;
        long lastEntry = -1;
        while (address + 4 <= bytes.Length && BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)address)) is int length && length != 0)
        {
            if (length > 0)
            {
                lastEntry = address;
            }

            address += LogLayout.RecordHeaderSize + LogLayout.Align(Math.Abs(length));
        }

        int entryLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)lastEntry));
        return (t, address, bytes.AsSpan((int)lastEntry, LogLayout.RecordHeaderSize + LogLayout.Align(entryLength)).ToArray());
    }

    /// <summary>The last entry again as the next one (position 10, version 10), with <paramref name="epoch"/> and <paramref name="idShift"/> added to its id.</summary>
    private static byte[] Forge(byte[] lastRecord, uint epoch, int idShift)
    {
        var record = (byte[])lastRecord.Clone();
        int length = BinaryPrimitives.ReadInt32LittleEndian(record);
        var entry = record.AsSpan(LogLayout.RecordHeaderSize, length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[LogEntryFormat.EpochOffset..], epoch);
        BinaryPrimitives.WriteInt64LittleEndian(entry[LogEntryFormat.FirstPositionOffset..], 10);
        BinaryPrimitives.WriteInt64LittleEndian(entry[LogEntryFormat.FirstVersionOffset..], 10);
        var view = new EntryView(entry);
        var id = entry.Slice(view.FirstEventOffset, 16);
        UlidCodec.WriteBytes(UlidCodec.ReadBytes(id) + (UInt128)(long)idShift, id);
        LogEntryFormat.Seal(entry);
        return record;
    }

    private static void WriteAt(string path, long offset, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    [Fact]
    public async Task An_entry_of_an_epoch_older_than_the_snapshot_after_it_is_a_leftover_and_cut()
    {
        var (t, end, last) = await WriteAndCloseAsync();
        await using var _t = t;
        uint epoch = new EntryView(last.AsSpan(LogLayout.RecordHeaderSize)).Epoch;
        Assert.True(epoch >= 1);
        WriteAt(t.LogSegment(), end, Forge(last, epoch - 1, idShift: 1));

        await t.OpenAsync();
        Assert.Equal(10, t.Store.EventCount);
        Assert.Contains("epoch", t.Store.LastRecovery.TailProblem, StringComparison.Ordinal);
        Assert.Equal(10, (await t.ReadStreamAsync("s")).Count);
    }

    [Fact]
    public async Task A_valid_entry_whose_id_is_not_above_the_last_one_refuses_to_open()
    {
        var (t, end, last) = await WriteAndCloseAsync();
        await using var _t = t;
        uint epoch = new EntryView(last.AsSpan(LogLayout.RecordHeaderSize)).Epoch;
        WriteAt(t.LogSegment(), end, Forge(last, epoch, idShift: 0));

        var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
        Assert.Contains("not above the previous id", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(end, refused.Offset);
    }

    [Fact]
    public async Task A_damaged_snapshot_in_a_directory_named_segment_costs_a_replay_not_the_open()
    {
        // The old code told errors apart by looking for "segment" in their message, and so in the data path.
        var t = await TestStore.CreateAsync();
        await using var _t = t;
        await t.AppendAsync("s", ExpectedVersion.Any, TestStore.Event());
        string segmentDirectory = t.Directory + "-segment";
        await t.Store.DisposeAsync();
        TestStore.CopyDirectory(t.Directory, segmentDirectory, skip: null);
        try
        {
            string snapshot = Path.Combine(segmentDirectory, "snapshot.bin");
            var bytes = File.ReadAllBytes(snapshot);
            bytes[20] ^= 1;
            File.WriteAllBytes(snapshot, bytes);
            var log = new LogCollector();
            await using var store = await t.OpenOtherAsync(segmentDirectory, log);
            Assert.False(store.LastRecovery.FromSnapshot);
            Assert.Equal(1, store.EventCount);
        }
        finally
        {
            TestStore.TryDelete(segmentDirectory);
        }
    }
}
