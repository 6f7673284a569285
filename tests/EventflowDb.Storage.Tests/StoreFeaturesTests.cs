using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using EventflowDb.Storage;

namespace EventflowDb.Storage.Tests;

/// <summary>
/// store.meta's format features: a store whose log holds control records says so in store.meta version 4 ("MET4"),
/// which builds before control records refuse (they read only MET1..MET3 of their exact sizes), so none of them replays
/// the log and cuts a control record as a torn tail; a store without them keeps version 3 and opens as before.
/// </summary>
public sealed class StoreFeaturesTests
{
    private static readonly string[] OlderMagics = ["META", "MET2", "MET3"];
    private static readonly int[] OlderLengths = [16, 24, 32];

    private static string MetaPath(TestStore t) => Path.Combine(t.Directory, StoreOpener.MetaFileName);

    private static (string Magic, int Length) Header(TestStore t)
    {
        var bytes = File.ReadAllBytes(MetaPath(t));
        return (Encoding.ASCII.GetString(bytes, 0, 4), bytes.Length);
    }

    [Fact]
    public async Task A_store_without_control_records_keeps_store_meta_version_3_and_reopens()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("a", ExpectedVersion.Any, TestStore.Event());
        await t.ReopenAsync();
        Assert.Equal(("MET3", 32), Header(t));
        Assert.Equal(StoreFeatures.None, StoreMetaFile.TryRead(MetaPath(t))!.Value.Features);
        Assert.Equal(1, t.Store.EventCount);
    }

    [Fact]
    public async Task The_first_checkpoint_after_a_control_record_marks_store_meta_and_the_store_round_trips()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("a", ExpectedVersion.Any, TestStore.Event(), TestStore.Event());
        Assert.Equal(LifecycleStatus.Done, (await t.Store.TruncateStreamAsync("a", 1)).Status);
        var checksum = t.Store.Checksum;

        await t.ReopenAsync(); // the close's checkpoint marks it, the open keeps it
        Assert.Equal(("MET4", 40), Header(t));
        var meta = StoreMetaFile.TryRead(MetaPath(t))!.Value;
        Assert.Equal(StoreFeatures.ControlRecords, meta.Features);
        Assert.NotNull(meta.SegmentSizeBits);
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(1, t.Store.EventCount);

        // The format older builds read: one of MET1/MET2/MET3 at exactly 16/24/32 bytes. MET4 is none of them.
        var bytes = File.ReadAllBytes(MetaPath(t));
        Assert.DoesNotContain(Encoding.ASCII.GetString(bytes, 0, 4), OlderMagics);
        Assert.DoesNotContain(bytes.Length, OlderLengths);

        await t.ReopenAsync();
        Assert.Equal(("MET4", 40), Header(t));
        Assert.Equal(1, t.Store.EventCount);
    }

    [Fact]
    public async Task After_a_crash_before_any_checkpoint_the_next_open_marks_store_meta()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("a", ExpectedVersion.Any, TestStore.Event());
        Assert.Equal(LifecycleStatus.Done, (await t.Store.ForgetStreamAsync("a")).Status);
        await t.CrashAsync();
        Assert.Equal(("MET3", 32), Header(t)); // the window: a control record, no checkpoint yet, no new open

        await t.OpenAsync();
        Assert.Equal(("MET4", 40), Header(t));
        Assert.Equal(1, t.Store.GetStreamMetadata("a")!.ForgottenBefore);
    }

    [Fact]
    public async Task A_store_meta_naming_an_unknown_feature_is_refused()
    {
        await using var t = await TestStore.CreateAsync();
        await t.AppendAsync("a", ExpectedVersion.Any, TestStore.Event());
        await t.Store.DisposeAsync();
        var meta = StoreMetaFile.TryRead(MetaPath(t))!.Value;
        StoreMetaFile.Write(MetaPath(t), meta with { Features = (StoreFeatures)0x10 });

        var refused = await Assert.ThrowsAsync<StoreDamagedException>(() => t.OpenAsync());
        Assert.Contains("newer EventflowDB", refused.Message, StringComparison.Ordinal);
        StoreMetaFile.Write(MetaPath(t), meta);
        await t.OpenAsync();
        Assert.Equal(1, t.Store.EventCount);
    }

    [Fact]
    public void Version_4_is_sealed_like_the_others()
    {
        string directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, StoreOpener.MetaFileName);
            var meta = new StoreMeta(7, 20, 12345, StoreFeatures.ControlRecords);
            StoreMetaFile.Write(path, meta);
            Assert.Equal(meta, StoreMetaFile.TryRead(path));
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(XxHash64.HashToUInt64(bytes.AsSpan(0, 32)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(32)));
            bytes[24] ^= 1;
            File.WriteAllBytes(path, bytes);
            Assert.Null(StoreMetaFile.TryRead(path));
        }
        finally
        {
            TestStore.TryDelete(directory);
        }
    }
}
