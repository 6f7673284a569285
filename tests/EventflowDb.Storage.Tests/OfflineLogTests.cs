using System.Text;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// <see cref="OfflineLog"/> (efdb verify, export --data): on a closed store it computes what the store reports (counts,
/// CHECKSUM), hands out the events as reads return them, changes no file, and judges damage and torn tails as opening
/// the store does.
/// </summary>
public sealed class OfflineLogTests
{
    private const int PageSize = DamageTests.PageSize;

    private static readonly OfflineScanOptions Options = new() { LogPageSizeBits = 16 };

    private static Task<TestStore> WriteAsync(int entries) => DamageTests.WriteAsync(entries);

    [Fact]
    public async Task A_closed_store_scans_to_its_own_counts_checksum_and_events_and_no_file_changes()
    {
        await using var t = await WriteAsync(1500);
        await t.AppendAsync("batch", ExpectedVersion.Any, TestStore.Event(), TestStore.Event(metadata: "{\"m\":1}"), TestStore.Event(data: "\"text\""));
        var checksum = t.Store.Checksum;
        long events = t.Store.EventCount;
        long streams = t.Store.StreamCount;
        var expected = (await t.ReadAllAsync(Ulid.Empty, 100_000)).Select(e => e.GetRawText()).ToList();
        await t.Store.DisposeAsync();
        Assert.True(File.Exists(t.LogSegment(1)), "the log should span segments");
        var before = Fingerprint(t.Directory);

        var seen = new List<string>();
        var result = OfflineLog.Scan(t.Directory, e => seen.Add(Encoding.UTF8.GetString(e.Json)), Options);

        Assert.Null(result.Damage);
        Assert.Null(result.TornTail);
        Assert.Equal(events, result.Events);
        Assert.Equal(streams, result.Streams);
        Assert.Equal(checksum.LastId, result.LastId);
        Assert.Equal(checksum.Value, result.Checksum);
        Assert.True(result.SnapshotChecked);
        Assert.Equal(expected, seen);
        Assert.Equal(before, Fingerprint(t.Directory));

        var after = new List<long>();
        var id = Ulid.Parse(System.Text.Json.JsonDocument.Parse(expected[999]).RootElement.GetProperty("id").GetString());
        OfflineLog.Scan(t.Directory, e => after.Add(e.Position), Options with { After = id });
        Assert.Equal(Enumerable.Range(1000, (int)events - 1000).Select(i => (long)i), after);
    }

    [Fact]
    public async Task Damage_is_reported_at_the_file_and_offset_where_opening_the_store_refuses()
    {
        await using var t = await WriteAsync(300);
        await t.Store.DisposeAsync();
        DamageTests.FlipByte(t.LogSegment(), (2 * PageSize) + 5000);

        var result = OfflineLog.Scan(t.Directory, null, Options);
        var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());

        Assert.NotNull(result.Damage);
        Assert.Equal(refused.Path, result.Damage.File);
        Assert.Equal(refused.Offset, result.Damage.Offset);
        Assert.True(result.Events < 300);
    }

    [Fact]
    public async Task A_missing_segment_is_damage()
    {
        await using var t = await WriteAsync(2600);
        await t.Store.DisposeAsync();
        File.Delete(t.LogSegment(1));

        var result = OfflineLog.Scan(t.Directory, null, Options);

        Assert.NotNull(result.Damage);
        Assert.Equal(t.LogSegment(1), result.Damage.File);
        Assert.Contains("segment file 1 is missing", result.Damage.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_after_the_last_record_is_a_torn_tail_and_opening_the_store_cuts_it_and_keeps_every_event()
    {
        await using var t = await WriteAsync(30);
        var checksum = t.Store.Checksum;
        await t.Store.DisposeAsync();
        long end = RecordsEnd(t.LogSegment());
        Assert.InRange(end, 30 * 1000, PageSize - 100);
        using (var file = new FileStream(t.LogSegment(), FileMode.Open, FileAccess.Write))
        {
            file.Position = end;
            file.Write([0x40, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05]);
        }

        var result = OfflineLog.Scan(t.Directory, null, Options);

        Assert.Null(result.Damage);
        Assert.NotNull(result.TornTail);
        Assert.Equal(t.LogSegment(), result.TornTail.File);
        Assert.Equal(checksum.Value, result.Checksum);
        await t.OpenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Events_are_handed_out_as_reads_return_them_hidden_ones_passed_over_and_forgotten_ones_rendered(bool crash)
    {
        await using var t = await TestStore.CreateAsync();
        async Task AddAsync(string stream, string data, string? metadata = null) =>
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync(stream, ExpectedVersion.Any, TestStore.Event(data: data, metadata: metadata))).Status);

        await AddAsync("forgotten", "{\"ssn\":\"SECRET-FORGOTTEN-1\"}", "{\"ip\":\"SECRET-META-1\"}");
        await AddAsync("deleted", "{\"ssn\":\"SECRET-DELETED-1\"}");
        await AddAsync("truncated", "{\"ssn\":\"SECRET-TRUNCATED-1\"}");
        await AddAsync("truncated", "{\"kept\":1}");
        await AddAsync("capped", "{\"ssn\":\"SECRET-CAPPED-1\"}");
        await AddAsync("capped", "{\"kept\":2}");
        await AddAsync("aged", "{\"ssn\":\"SECRET-AGED-1\"}");
        await AddAsync("plain", "{\"kept\":3}");
        Assert.Equal(LifecycleStatus.Done, (await t.Store.ForgetStreamAsync("forgotten")).Status);
        Assert.Equal(LifecycleStatus.Done, (await t.Store.DeleteStreamAsync("deleted", null)).Status);
        Assert.Equal(LifecycleStatus.Done, (await t.Store.TruncateStreamAsync("truncated", 1)).Status);
        Assert.Equal(LifecycleStatus.Done, (await t.Store.SetStreamMetadataAsync("capped", 1, 0)).Status);
        Assert.Equal(LifecycleStatus.Done, (await t.Store.SetStreamMetadataAsync("aged", 0, 1)).Status);
        await AddAsync("forgotten", "{\"after\":\"forget\"}");
        await Task.Delay(20);
        var checksum = t.Store.Checksum;
        var expected = (await t.ReadAllAsync(Ulid.Empty)).Select(e => e.GetRawText()).ToList();
        if (crash)
        {
            await t.CrashAsync(); // the control records only in the log, no checkpoint of them
        }
        else
        {
            await t.Store.DisposeAsync();
        }

        var seen = new List<string>();
        var result = OfflineLog.Scan(t.Directory, e => seen.Add(Encoding.UTF8.GetString(e.Json)), Options);

        Assert.Null(result.Damage);
        Assert.Equal(checksum.Value, result.Checksum);
        Assert.Equal(expected, seen);
        Assert.Equal(4, result.HiddenEvents);
        Assert.Equal(1, result.ForgottenEvents);
        string all = string.Join('\n', seen);
        Assert.DoesNotContain("SECRET", all, StringComparison.Ordinal);
        var forgotten = System.Text.Json.JsonDocument.Parse(seen[0]).RootElement;
        Assert.Equal(("forgotten", System.Text.Json.JsonValueKind.Null, System.Text.Json.JsonValueKind.Null, true), (forgotten.GetProperty("stream").GetString(), forgotten.GetProperty("data").ValueKind, forgotten.GetProperty("metadata").ValueKind, forgotten.GetProperty("forgotten").GetBoolean()));
        Assert.Contains("{\"after\":\"forget\"}", all, StringComparison.Ordinal);

        // Tools that check the log itself may still see every event as stored.
        var raw = new List<string>();
        OfflineLog.Scan(t.Directory, e => raw.Add(Encoding.UTF8.GetString(e.Json)), Options with { IncludeHidden = true });
        Assert.Equal(9, raw.Count);
        Assert.Contains("SECRET-FORGOTTEN-1", string.Join('\n', raw), StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_that_is_no_store_is_an_error()
    {
        string empty = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(empty);
        try
        {
            Assert.Throws<IOException>(() => OfflineLog.Scan(empty));
            Assert.Throws<DirectoryNotFoundException>(() => OfflineLog.Scan(Path.Combine(empty, "missing")));
        }
        finally
        {
            TestStore.TryDelete(empty);
        }
    }

    /// <summary>The end of the last record (entry or commit record) of the first page.</summary>
    private static long RecordsEnd(string segment)
    {
        var page = new byte[PageSize];
        using (var file = File.OpenRead(segment))
        {
            _ = file.ReadAtLeast(page, page.Length, throwOnEndOfStream: false);
        }

        int address = 64;
        while (address + 4 <= page.Length && System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(page.AsSpan(address)) is var length and not 0)
        {
            address += 4 + ((Math.Abs(length) + 3) & ~3);
        }

        return address;
    }

    private static Dictionary<string, string> Fingerprint(string directory)
        => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => $"{File.GetLastWriteTimeUtc(f):O} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}", StringComparer.Ordinal);
}
