using System.Diagnostics;

namespace EventflowDb.Bench.Soak;

/// <summary>Paces a loop at a steady rate of units per second; a loop that falls behind by more than a second does not burst to catch up.</summary>
internal sealed class Pacer(double unitsPerSecond)
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private double _dueSeconds;

    /// <summary>Waits until <paramref name="units"/> more units are due; false when cancelled.</summary>
    public bool Wait(double units, CancellationToken token)
    {
        double now = _watch.Elapsed.TotalSeconds;
        _dueSeconds = Math.Max(_dueSeconds, now - 1) + (units / unitsPerSecond);
        double wait = _dueSeconds - now;
        return wait <= 0 ? !token.IsCancellationRequested : !token.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait));
    }
}
