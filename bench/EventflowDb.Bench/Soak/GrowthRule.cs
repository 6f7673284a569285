using System.Globalization;

namespace EventflowDb.Bench.Soak;

/// <summary>The verdict of a run, and why.</summary>
internal sealed record Verdict(bool Passed, IReadOnlyList<string> Reasons);

/// <summary>
/// The pass/fail rule. Two windows of the per-second samples: the baseline, from 1/6 to 1/3 of the run (minutes 5–10 of
/// 30, after the warm-up), and the end, its last sixth (minutes 25–30 of 30). The run fails when
/// <list type="bullet">
/// <item>the end's average RSS is more than <see cref="RssGrowthRatio"/> above the baseline's <em>and</em> more than
/// <see cref="RssGrowthMiB"/> MiB above it;</item>
/// <item>the end's average thread count is more than <see cref="ThreadGrowth"/> above the baseline's;</item>
/// <item>the server exited during the run; or</item>
/// <item>the store holds fewer events than the load saw acknowledged.</item>
/// </list>
/// </summary>
internal static class GrowthRule
{
    public const double RssGrowthRatio = 0.20;
    public const double RssGrowthMiB = 64;
    public const double ThreadGrowth = 20;

    public static string Text =>
        string.Create(CultureInfo.InvariantCulture, $"the run **fails** (exit status 1) when, comparing the average of the per-second samples over the last sixth of the run (minutes 25–30 of a 30-minute run) with their average over the baseline window from 1/6 to 1/3 of the run (minutes 5–10 of 30, past the warm-up), RSS grew by more than {RssGrowthRatio:P0} **and** by more than {RssGrowthMiB:0} MiB, or the thread count grew by more than {ThreadGrowth:0}; it also fails when the server exited during the run or when the store holds fewer events than the load saw acknowledged (EVENTCOUNT after the run).");

    /// <summary>The baseline and end windows (seconds since the load started) for a run of <paramref name="seconds"/>.</summary>
    public static ((double From, double To) Baseline, (double From, double To) End) Windows(double seconds) =>
        ((seconds / 6, seconds / 3), (seconds * 5 / 6, seconds + 1));

    public static Verdict Judge(IReadOnlyList<SoakSample> samples, double seconds, string? serverExit, long acknowledged, long storedAfter)
    {
        var reasons = new List<string>();
        bool passed = true;
        var (baseline, end) = Windows(seconds);
        string Span((double From, double To) w) => string.Create(CultureInfo.InvariantCulture, $"{w.From / 60:0.##}–{Math.Min(w.To, seconds) / 60:0.##} min");
        var baseSamples = samples.Where(s => s.Seconds >= baseline.From && s.Seconds < baseline.To && s.ResidentBytes >= 0).ToList();
        var endSamples = samples.Where(s => s.Seconds >= end.From && s.Seconds < end.To && s.ResidentBytes >= 0).ToList();
        if (baseSamples.Count == 0 || endSamples.Count == 0)
        {
            reasons.Add("**FAIL**: no samples in the baseline or end window (the run stopped early)");
            passed = false;
        }
        else
        {
            double rssBase = baseSamples.Average(s => s.ResidentBytes) / 1048576.0;
            double rssEnd = endSamples.Average(s => s.ResidentBytes) / 1048576.0;
            double growth = rssEnd - rssBase;
            bool rssFails = rssEnd > rssBase * (1 + RssGrowthRatio) && growth > RssGrowthMiB;
            passed &= !rssFails;
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{(rssFails ? "**FAIL**" : "pass")}: RSS {rssBase:0.0} MiB ({Span(baseline)}) → {rssEnd:0.0} MiB ({Span(end)}), {growth:+0.0;-0.0} MiB ({growth / rssBase:+0%;-0%}); bound: +{RssGrowthRatio:P0} and +{RssGrowthMiB:0} MiB"));
            double threadsBase = baseSamples.Average(s => s.Threads);
            double threadsEnd = endSamples.Average(s => s.Threads);
            bool threadsFail = threadsEnd - threadsBase > ThreadGrowth;
            passed &= !threadsFail;
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{(threadsFail ? "**FAIL**" : "pass")}: threads {threadsBase:0.0} → {threadsEnd:0.0} ({threadsEnd - threadsBase:+0.0;-0.0}); bound: +{ThreadGrowth:0}"));
        }

        if (serverExit is not null)
        {
            reasons.Add($"**FAIL**: the server exited during the run ({serverExit})");
            passed = false;
        }

        bool lost = storedAfter >= 0 && storedAfter < acknowledged;
        passed &= !lost && storedAfter >= 0;
        reasons.Add(storedAfter < 0
            ? "**FAIL**: EVENTCOUNT could not be read after the run"
            : string.Create(CultureInfo.InvariantCulture, $"{(lost ? "**FAIL**" : "pass")}: the store holds {storedAfter:N0} events; the load saw {acknowledged:N0} acknowledged (connect-and-vanish ADDs, never acknowledged, may add a few)"));
        return new Verdict(passed, reasons);
    }
}
