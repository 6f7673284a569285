using EventflowDb.Client.Tests.Support;
using NUlid;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>
/// Paging against a server that returns at most 5 items per reply (<c>--max-page 5</c>), so every enumeration below
/// needs more than three server pages to be complete.
/// </summary>
public sealed class PagingTests(SmallPageClientFixture fixture, ITestOutputHelper output)
    : ClientTest<SmallPageClientFixture>(fixture, output), IClassFixture<SmallPageClientFixture>
{
    [Theory]
    [InlineData(0)] // the server's default page (1,000) capped to 5
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(100)] // capped to 5
    public async Task A_stream_is_read_whole_across_pages(int pageSize)
    {
        string stream = Unique("paged");
        await Client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(12));
        await Client.AppendAsync(stream, ExpectedVersion.Exact(12), Numbered(11, first: 12));

        var read = await Client.ReadStreamAsync(stream, pageSize: pageSize).CollectAsync();

        Assert.Equal(Enumerable.Range(0, 23).Select(i => (long)i), read.Select(e => e.Version));
        Assert.Equal(Enumerable.Range(0, 23).Select(i => $$"""{"n":{{i}}}"""), read.Select(e => e.GetDataJson()));
        var tail = await Client.ReadStreamAsync(stream, fromVersion: 4, pageSize: pageSize).CollectAsync();
        Assert.Equal(Enumerable.Range(4, 19).Select(i => (long)i), tail.Select(e => e.Version));
    }

    [Fact]
    public async Task The_page_size_option_is_used_when_a_call_does_not_give_one()
    {
        await using var client = await Connect.ClientAsync(Server, options: new EventflowDbClientOptions { PageSize = 2 });
        string stream = Unique("option");
        await client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(9));
        Assert.Equal(9, await client.ReadStreamAsync(stream).CountAllAsync());
        Assert.Equal(2, client.Options.PageSize);
    }

    [Fact]
    public async Task The_whole_log_is_read_in_order_and_can_resume_after_any_event()
    {
        string stream = Unique("log");
        var mine = new List<RecordedEvent>();
        for (int i = 0; i < 4; i++)
        {
            mine.AddRange(await Client.AppendAsync(stream, ExpectedVersion.Any, Numbered(6, first: 6 * i)));
            await Client.AppendAsync(Unique("other"), ExpectedVersion.Any, Numbered(1));
        }

        var log = await Client.ReadAllAsync().CollectAsync();
        Assert.True(log.Count >= 28, $"the log holds at least the 28 events of this test, got {log.Count}");
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), log.Select(e => e.Position));
        for (int i = 1; i < log.Count; i++)
        {
            Assert.True(log[i - 1].Id.CompareTo(log[i].Id) < 0, $"ids must increase in log order at {i}");
        }

        Assert.Equal(mine.Select(e => e.Id), log.Where(e => e.Stream == stream).Select(e => e.Id));
        Assert.Equal(log.Select(e => e.Id), (await Client.ReadAllAsync(Ulid.Empty, pageSize: 3).CollectAsync()).Select(e => e.Id));

        var resumeAfter = mine[7];
        var resumed = await Client.ReadAllAsync(resumeAfter.Id, pageSize: 4).CollectAsync();
        Assert.Equal(log.SkipWhile(e => e.Id != resumeAfter.Id).Skip(1).Select(e => e.Id), resumed.Select(e => e.Id));
        Assert.Empty(await Client.ReadAllAsync(log[^1].Id).CollectAsync());
    }

    [Fact]
    public async Task Streams_are_listed_in_creation_order_across_pages()
    {
        string prefix = Unique("list");
        var names = Enumerable.Range(0, 13).Select(i => $"{prefix}-{i:D2}").ToList();
        for (int i = 0; i < names.Count; i++)
        {
            await Client.AppendAsync(names[i], ExpectedVersion.NoStream, Numbered(i + 1));
        }

        var listed = await Client.ListStreamsAsync().CollectAsync();
        var ours = listed.Where(s => s.Stream.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(names, ours.Select(s => s.Stream));
        for (int i = 0; i < ours.Count; i++)
        {
            Assert.Equal(i + 1, ours[i].EventCount);
            Assert.Equal(i, ours[i].LastVersion);
            Assert.True(ours[i].CreatedAt <= ours[i].UpdatedAt);
        }

        Assert.Equal(listed.Count, await Client.GetStreamCountAsync());
        var skipped = await Client.ListStreamsAsync(skip: 2, pageSize: 3).CollectAsync();
        Assert.Equal(listed.Skip(2).Select(s => s.Stream), skipped.Select(s => s.Stream));
    }
}
