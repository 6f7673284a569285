using System.Text;
using System.Text.Json;
using EventflowDb.Storage;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace EventflowDb.Storage.Tests;

/// <summary>A store in a temporary directory with small FASTER sizes, and helpers to use it.</summary>
internal sealed class TestStore : IAsyncDisposable
{
    private TestStore(string directory) => Directory = directory;

    public string Directory { get; }

    public FasterEventStore Store { get; private set; } = null!;

    public LogCollector Log { get; } = new();

    public static async Task<TestStore> CreateAsync(Func<StoreOptions, StoreOptions>? configure = null)
    {
        string directory = Path.Combine(Path.GetTempPath(), "efdb-tests", Guid.NewGuid().ToString("N"));
        var store = new TestStore(directory) { Configure = configure };
        await store.OpenAsync();
        return store;
    }

    public Func<StoreOptions, StoreOptions>? Configure { get; init; }

    public static StoreOptions Options(string directory) => new()
    {
        DataDirectory = directory,
        CheckpointInterval = TimeSpan.FromHours(1),
        LogPageSizeBits = 16,
        LogMemorySizeBits = 18,
        LogSegmentSizeBits = 20,
        IndexBucketBits = 12,
        IndexPageSizeBits = 14,
        IndexMemorySizeBits = 18,
        IndexSegmentSizeBits = 20,
    };

    public StoreOptions CurrentOptions(string? directory = null)
    {
        var options = Options(directory ?? Directory);
        return Configure is null ? options : Configure(options);
    }

    /// <param name="repair">Open with <see cref="StoreOptions.Repair"/> (<c>--repair</c>).</param>
    public async Task OpenAsync(bool repair = false)
    {
        Log.Clear();
        Store = await FasterEventStore.OpenAsync(CurrentOptions() with { Repair = repair }, Log.Logger);
    }

    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        await OpenAsync();
    }

    /// <summary>Opens another store instance on <paramref name="directory"/> (e.g. a copy).</summary>
    public async Task<FasterEventStore> OpenOtherAsync(string directory, LogCollector log)
        => await FasterEventStore.OpenAsync(CurrentOptions(directory), log.Logger);

    public string LogSegment(int segment = 0) => Path.Combine(Directory, "log", $"events.log.{segment}");

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync(); // after a refused open: the earlier store, already closed

        TryDelete(Directory);
    }

    /// <summary>A second way to open a directory with other options.</summary>
    internal sealed class Configured(string directory, Func<StoreOptions, StoreOptions> configure)
    {
        public LogCollector Log { get; } = new();

        public Task<FasterEventStore> OpenAsync() => FasterEventStore.OpenAsync(configure(Options(directory)), Log.Logger);
    }

    /// <summary>
    /// Closes the store as a crash would leave it: the files as they were before the close (copied while the store is
    /// open, state files first and the append-only log last), so no final commit or checkpoint reaches them.
    /// </summary>
    public async Task CrashAsync()
    {
        string copy = Directory + "-crash";
        CopyDirectory(Directory, copy, skip: "log");
        CopyDirectory(Path.Combine(Directory, "log"), Path.Combine(copy, "log"), skip: null);
        await Store.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
        System.IO.Directory.Move(copy, Directory);
    }

    /// <summary><see cref="CrashAsync"/>, then opens the store again.</summary>
    public async Task CrashAndReopenAsync()
    {
        await CrashAsync();
        await OpenAsync();
    }

    public static void CopyDirectory(string from, string to, string? skip)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.GetFiles(from))
        {
            try
            {
                using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var target = new FileStream(Path.Combine(to, Path.GetFileName(file)), FileMode.Create);
                source.CopyTo(target);
            }
            catch (FileNotFoundException)
            {
            }
        }

        foreach (var directory in System.IO.Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(directory);
            if (name != skip)
            {
                CopyDirectory(directory, Path.Combine(to, name), skip: null);
            }
        }
    }

    public static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static NewEvent Event(string type = "Happened", string data = "{\"a\":1}", string? messageId = null, string? metadata = null)
        => new()
        {
            Type = type,
            Data = Encoding.UTF8.GetBytes(data),
            Metadata = metadata is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(metadata),
            MessageId = messageId,
        };

    public static AppendRequest Request(string stream, ExpectedVersion expected, params NewEvent[] events)
        => new() { Stream = stream, Expected = expected, Events = events };

    public Task<AppendResult> AppendAsync(string stream, ExpectedVersion expected, params NewEvent[] events)
        => Store.AppendAsync(Request(stream, expected, events)).AsTask();

    public async Task<List<JsonElement>> ReadStreamAsync(string stream, long from = 0, int limit = 1000)
    {
        var page = new EventPage();
        int n = await Store.ReadStreamAsync(Encoding.UTF8.GetBytes(stream), from, limit, page);
        StreamEntryReads += page.EntryReads;
        return Parse(page, n);
    }

    /// <summary>Log entries (or entry headers) the stream reads of this helper have looked at.</summary>
    public long StreamEntryReads { get; private set; }

    public async Task<List<JsonElement>> ReadAllAsync(NUlid.Ulid after, int limit = 100_000)
    {
        var page = new EventPage();
        int n = await Store.ReadAllAsync(after, limit, page);
        return Parse(page, n);
    }

    public static List<JsonElement> Parse(EventPage page, int count)
    {
        Assert.Equal(page.Count, count);
        var list = new List<JsonElement>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(JsonDocument.Parse(page[i].ToArray()).RootElement.Clone());
        }

        return list;
    }

    public static List<string> Raw(EventPage page)
    {
        var list = new List<string>();
        for (int i = 0; i < page.Count; i++)
        {
            list.Add(Encoding.UTF8.GetString(page[i]));
        }

        return list;
    }
}

/// <summary>Collects Serilog events so tests can assert on what the store reported.</summary>
internal sealed class LogCollector : ILogEventSink
{
    private readonly List<LogEvent> _events = [];

    public LogCollector() => Logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(this).CreateLogger();

    public ILogger Logger { get; }

    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (_events)
            {
                return _events.ToList();
            }
        }
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_events)
        {
            _events.Add(logEvent);
        }
    }

    public void Clear()
    {
        lock (_events)
        {
            _events.Clear();
        }
    }

    public IEnumerable<string> Messages(LogEventLevel level) => Events.Where(e => e.Level == level).Select(e => e.RenderMessage());
}
