using NUlid;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

/// <summary>Segment prefill is an optimization: when it fails the store warns once and goes on writing.</summary>
public sealed class PrefillFailureTests
{
    [Fact]
    public async Task A_prefill_that_fails_leaves_the_store_accepting_writes()
    {
        await using var t = await TestStore.CreateAsync();
        // A directory where the fill's temporary file goes: every attempt to create it fails.
        Directory.CreateDirectory(t.LogSegment(1) + ".prefill");
        var batch = Enumerable.Range(0, 10).Select(_ => TestStore.Event(data: $"\"{new string('y', 1000)}\"")).ToArray();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(AppendStatus.Appended, (await t.AppendAsync($"s-{i % 3}", ExpectedVersion.Any, batch)).Status);
        }

        Assert.True(File.Exists(t.LogSegment(1)), "the log never reached segment 1");
        Assert.Null(t.Store.ReadOnlyReason);
        Assert.Single(t.Log.Messages(LogEventLevel.Warning), m => m.Contains("not prefilled", StringComparison.Ordinal));
        var checksum = t.Store.Checksum;

        await t.ReopenAsync();
        Assert.Equal(checksum, t.Store.Checksum);
        Assert.Equal(2000, (await t.ReadAllAsync(Ulid.Empty)).Count);
    }
}
