using System.Diagnostics;
using System.Globalization;
using EventflowDb.Bench.Resp;
using HdrHistogram;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// The probe: 10 times a second, one <c>ADD soak-probe any T {..}</c> and one <c>GET soak-probe &lt;version&gt; 10</c>
/// (the last ten events), each timed into an HdrHistogram of its minute (microseconds).
/// </summary>
internal sealed class LatencyProbe(Stopwatch clock, TimeSpan duration, int port, SoakCounters counters)
    : LoadWorker("probe", port, counters)
{
    private const double PerSecond = 10;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (LongHistogram Add, LongHistogram Get)> _minutes = [];
    private long _version;

    /// <summary>The ADD and GET histograms of minute <paramref name="minute"/> (0-based), or null when nothing was timed then.</summary>
    public (LongHistogram Add, LongHistogram Get)? Minute(int minute)
    {
        lock (_lock)
        {
            return _minutes.TryGetValue(minute, out var h) ? (h.Add.Copy() as LongHistogram ?? h.Add, h.Get.Copy() as LongHistogram ?? h.Get) : null;
        }
    }

    protected override void RunSession(CancellationToken token)
    {
        using var connection = new SoakConnection(Port);
        var pacer = new Pacer(PerSecond);
        for (long n = 0; pacer.Wait(1, token); n++)
        {
            long start = Stopwatch.GetTimestamp();
            var added = connection.Call(RespCommand.Encode("ADD", "soak-probe", "any", "Probe", string.Create(CultureInfo.InvariantCulture, $"{{\"p\":{n}}}")));
            long addMicros = Micros(start);
            if (added.Kind == ReplyKind.Array && added.Count == 1)
            {
                _version++;
                Counters.Add(Counter.EventsWritten);
                Record(addMicros, get: false);
            }
            else
            {
                Unexpected("ADD", added);
            }

            start = Stopwatch.GetTimestamp();
            var page = connection.Call(RespCommand.Encode("GET", "soak-probe", Math.Max(0, _version - 10).ToString(CultureInfo.InvariantCulture), "10"));
            long getMicros = Micros(start);
            if (page.Kind == ReplyKind.Array)
            {
                Record(getMicros, get: true);
            }
            else
            {
                Unexpected("GET", page);
            }
        }
    }

    private static long Micros(long start) => Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);

    private void Record(long micros, bool get)
    {
        // Requests timed while the load stops, just past the end, count in the last minute.
        int minute = Math.Min(MinuteRow.MinuteOf(clock.Elapsed.TotalSeconds), MinuteRow.MinuteOf(duration.TotalSeconds));
        lock (_lock)
        {
            if (!_minutes.TryGetValue(minute, out var h))
            {
                h = (new LongHistogram(600_000_000, 3), new LongHistogram(600_000_000, 3));
                _minutes[minute] = h;
            }

            (get ? h.Get : h.Add).RecordValue(Math.Min(micros, 600_000_000));
        }
    }
}
