using System.Reflection;
using System.Text;
using System.Text.Json;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Groups;
using EventflowDb.Server.Subscriptions;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>Reads of the log in order over hidden ranges (a deleted stream): bounded scans whose cursor moves on.</summary>
public sealed class LifecycleScanTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
    private FasterEventStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await FasterEventStore.OpenAsync(
            new StoreOptions
            {
                DataDirectory = _directory,
                CheckpointInterval = TimeSpan.FromHours(1),
                LogPageSizeBits = 16,
                LogMemorySizeBits = 18,
                LogSegmentSizeBits = 20,
                IndexBucketBits = 12,
                IndexPageSizeBits = 14,
                IndexMemorySizeBits = 18,
                IndexSegmentSizeBits = 20,
            },
            Serilog.Core.Logger.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<Ulid> AddAsync(string stream, int events = 1)
    {
        AppendResult result = default!;
        for (int i = 0; i < events; i++)
        {
            result = await _store.AppendAsync(new AppendRequest
            {
                Stream = stream,
                Expected = ExpectedVersion.Any,
                Events = [new NewEvent { Type = "T", Data = Encoding.UTF8.GetBytes("{\"i\":1}") }],
            });
        }

        return LastId();
    }

    private Ulid LastId() => _store.Checksum.LastId;

    [Fact]
    public async Task GETALL_without_a_channel_reads_past_a_deleted_range_longer_than_the_channel_budget_in_one_request()
    {
        // Clients page GETALL until an empty page: a read of every event must not answer one while events lie ahead.
        var visible = await AddAsync("visible");
        const int batch = 100;
        int batches = (AllEventsRead.FilterScanBudget / batch) + 1;
        for (int b = 0; b < batches; b++)
        {
            await _store.AppendAsync(new AppendRequest
            {
                Stream = "big",
                Expected = ExpectedVersion.Any,
                Events = Enumerable.Range(0, batch).Select(_ => new NewEvent { Type = "T", Data = "{}"u8.ToArray() }).ToArray(),
            });
        }

        Assert.Equal(LifecycleStatus.Done, (await _store.DeleteStreamAsync("big", null)).Status);
        var after = await AddAsync("after");

        var page = new EventPage();
        var read = new AllEventsRead(_store, page, filter: null, limit: 100, AllEventsRead.BudgetFor(null)) { Cursor = visible };
        Assert.Equal(1, await read.NextAsync());
        Assert.Equal(after, EventLookup.IdOf(page[0]));
        Assert.Equal(AllEventsRead.FilterScanBudget, AllEventsRead.BudgetFor(EventChannels.Parse("stream:after")));
    }

    [Fact]
    public async Task A_read_without_filter_over_a_deleted_range_stops_at_its_budget_and_moves_its_cursor()
    {
        var visible = await AddAsync("visible");
        await AddAsync("big", 50);
        Assert.Equal(LifecycleStatus.Done, (await _store.DeleteStreamAsync("big", null)).Status);

        var page = new EventPage();
        var read = new AllEventsRead(_store, page, filter: null, limit: 100, scanBudget: 10) { Cursor = visible };

        // Budget spent with nothing found: answer now (-1, no wait), past the ten events examined.
        Assert.Equal(-1, await read.NextAsync());
        Assert.Equal(0, page.Count);
        Assert.True(read.Cursor.CompareTo(visible) > 0);

        // Each request goes on from the cursor; the sixth reaches the end of the log and finds what was written after.
        var after = await AddAsync("after");
        int requests = 1;
        int found;
        do
        {
            read = new AllEventsRead(_store, page, filter: null, limit: 100, scanBudget: 10) { Cursor = read.Cursor };
            found = await read.NextAsync();
            requests++;
        }
        while (found == -1 && requests < 20);

        Assert.Equal(1, found);
        Assert.Equal(6, requests);
        Assert.Equal(after, EventLookup.IdOf(page[0]));
    }

    [Fact]
    public async Task Looking_up_a_hidden_event_examines_only_that_event()
    {
        await AddAsync("gone", 1);
        var target = LastId();
        await AddAsync("gone", 30);
        await AddAsync("kept", 1);
        var kept = LastId();
        Assert.Equal(LifecycleStatus.Done, (await _store.DeleteStreamAsync("gone", null)).Status);

        var recording = DispatchProxy.Create<IEventStore, RecordingStore>();
        ((RecordingStore)(object)recording).Inner = _store;
        var page = new EventPage();
        Assert.Null(await EventLookup.ReadAsync(recording, target, page));
        Assert.Equal("kept", JsonDocument.Parse(await EventLookup.ReadAsync(recording, kept, page)).RootElement.GetProperty("stream").GetString());

        var reads = ((RecordingStore)(object)recording).Reads;
        Assert.Equal(2, reads.Count);
        Assert.All(reads, r => Assert.Equal(1, r.Scanned));
    }

    /// <summary>Forwards to the store and records what each read of the log in order examined.</summary>
    public class RecordingStore : DispatchProxy
    {
        public IEventStore Inner { get; set; } = null!;

        public List<ReadAllProgress> Reads { get; } = [];

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            object? result;
            try
            {
                result = targetMethod!.Invoke(Inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }

            if (targetMethod.Name == nameof(IEventStore.ReadAllAsync))
            {
                // Stores complete these reads synchronously; record what they report (the count-only overload reports no budget).
                if (result is ValueTask<ReadAllProgress> progress)
                {
                    var done = progress.AsTask().GetAwaiter().GetResult();
                    Reads.Add(done);
                    return new ValueTask<ReadAllProgress>(done);
                }

                int count = ((ValueTask<int>)result!).AsTask().GetAwaiter().GetResult();
                Reads.Add(new ReadAllProgress(count, int.MaxValue, Ulid.Empty));
                return new ValueTask<int>(count);
            }

            return result;
        }
    }
}
