using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Durability;

/// <summary>When a crash point kills the server.</summary>
public enum CrashMoment
{
    /// <summary>After a random delay.</summary>
    Delay,

    /// <summary>At the first write into a log segment after the one the tail was in (FasterLog switched segments).</summary>
    SegmentSwitch,

    /// <summary>When a new log segment file appears (created by the log device, or linked into place by the prefiller).</summary>
    SegmentFile,

    /// <summary>While the next segment is zero-filled ahead (its <c>.prefill</c> file exists).</summary>
    Prefill,

    /// <summary>During an index checkpoint (a new FASTER checkpoint directory appeared; killed 0 to 700 ms later).</summary>
    IndexCheckpoint,

    /// <summary>While <c>snapshot.bin</c> is rewritten (its <c>.tmp</c> file appeared, or it was just renamed into place).</summary>
    SnapshotWrite,

    /// <summary>After a random delay, then again while the restarted server is still recovering.</summary>
    DuringStart,

    /// <summary>During a graceful stop (SIGTERM under load, then SIGKILL 0 to 400 ms later: a supervisor's stop time-out).</summary>
    DuringShutdown,
}

/// <summary>
/// Watches a data directory (inotify, through <see cref="FileSystemWatcher"/>) for one <see cref="CrashMoment"/> and
/// calls the kill action once when it comes, on the watcher's thread when the kill delay is zero, so the server dies
/// as close to that moment as a separate process can make it.
/// </summary>
public sealed class CrashMomentWatcher : IDisposable
{
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly TaskCompletionSource<string> _fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action _kill;
    private readonly int _killDelayMs;
    private readonly int _tailSegment;
    private readonly int _lastSegmentFile;
    private int _firing;

    private CrashMomentWatcher(string dataDirectory, CrashMoment moment, int killDelayMs, Action kill)
    {
        _kill = kill;
        _killDelayMs = killDelayMs;
        var segments = StoreFiles.LogSegments(dataDirectory);
        _lastSegmentFile = segments.Count == 0 ? -1 : segments[^1].Number;
        _tailSegment = segments.Where(s => StoreFiles.StartsWithData(s.File.FullName)).Select(s => s.Number).DefaultIfEmpty(0).Max();
        string log = Path.Combine(dataDirectory, "log");
        string index = Path.Combine(dataDirectory, "index");
        Directory.CreateDirectory(log);
        Directory.CreateDirectory(index);
        switch (moment)
        {
            case CrashMoment.SegmentSwitch:
                Watch(log, false, NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size, OnSegmentWrite);
                break;
            case CrashMoment.SegmentFile:
                Watch(log, false, NotifyFilters.FileName, OnSegmentFile);
                break;
            case CrashMoment.Prefill:
                Watch(log, false, NotifyFilters.FileName, e =>
                {
                    if (e.ChangeType == WatcherChangeTypes.Created && e.Name!.EndsWith(".prefill", StringComparison.Ordinal))
                    {
                        Fire($"{e.Name} created");
                    }
                });
                break;
            case CrashMoment.IndexCheckpoint:
                Watch(index, true, NotifyFilters.DirectoryName | NotifyFilters.FileName, e =>
                {
                    if (e.ChangeType == WatcherChangeTypes.Created && (e.Name!.StartsWith("index-checkpoints", StringComparison.Ordinal) || e.Name.StartsWith("cpr-checkpoints", StringComparison.Ordinal)))
                    {
                        Fire($"index/{e.Name} created");
                    }
                });
                break;
            case CrashMoment.SnapshotWrite:
                Watch(dataDirectory, false, NotifyFilters.FileName, e =>
                {
                    if ((e.ChangeType == WatcherChangeTypes.Created && e.Name == "snapshot.bin.tmp") || (e.ChangeType == WatcherChangeTypes.Renamed && e.Name == "snapshot.bin"))
                    {
                        Fire($"{e.Name} {e.ChangeType.ToString().ToLowerInvariant()}");
                    }
                });
                break;
            default:
                break;
        }
    }

    /// <summary>Completes with what was seen once the moment came (the kill has been sent or scheduled).</summary>
    public Task<string> Fired => _fired.Task;

    /// <summary>Watcher buffer overflows (events lost: the moment may have been missed).</summary>
    public int Overflows { get; private set; }

    /// <summary>Starts watching <paramref name="dataDirectory"/> for <paramref name="moment"/> (nothing to watch for the moments that are a delay).</summary>
    public static CrashMomentWatcher Arm(string dataDirectory, CrashMoment moment, int killDelayMs, Action kill) => new(dataDirectory, moment, killDelayMs, kill);

    /// <summary>Fires now, whatever happened (the moment did not come in time).</summary>
    public void FireNow(string why) => Fire(why, delay: false);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _watchers)
        {
            w.EnableRaisingEvents = false;
            w.Dispose();
        }
    }

    private void Watch(string path, bool subdirectories, NotifyFilters filters, Action<FileSystemEventArgs> handler)
    {
        var watcher = new FileSystemWatcher(path)
        {
            IncludeSubdirectories = subdirectories,
            NotifyFilter = filters,
            InternalBufferSize = 64 * 1024,
        };
        watcher.Created += (_, e) => handler(e);
        watcher.Changed += (_, e) => handler(e);
        watcher.Renamed += (_, e) => handler(e);
        watcher.Error += (_, _) => Overflows++;
        watcher.EnableRaisingEvents = true;
        _watchers.Add(watcher);
    }

    private void OnSegmentWrite(FileSystemEventArgs e)
    {
        if (e.ChangeType == WatcherChangeTypes.Changed && StoreFiles.SegmentNumber(e.Name!) is { } n && n > _tailSegment)
        {
            Fire($"first write into {e.Name} (the tail was in segment {_tailSegment})");
        }
    }

    private void OnSegmentFile(FileSystemEventArgs e)
    {
        if (e.ChangeType is WatcherChangeTypes.Created or WatcherChangeTypes.Renamed && StoreFiles.SegmentNumber(e.Name!) is { } n && n > _lastSegmentFile)
        {
            Fire($"{e.Name} {e.ChangeType.ToString().ToLowerInvariant()}");
        }
    }

    private void Fire(string what, bool delay = true)
    {
        if (Interlocked.Exchange(ref _firing, 1) != 0)
        {
            return;
        }

        if (!delay || _killDelayMs == 0)
        {
            _kill();
            _fired.TrySetResult(what);
            return;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(_killDelayMs);
            _kill();
            _fired.TrySetResult($"{what}, killed {_killDelayMs} ms later");
        });
    }
}
