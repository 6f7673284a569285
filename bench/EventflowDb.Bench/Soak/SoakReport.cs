using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EventflowDb.Bench.Soak;

/// <summary>Everything the Results section of soak.md reports about one run.</summary>
internal sealed record SoakResult(
    SoakOptions Options,
    string ServerCommand,
    double Seconds,
    IReadOnlyList<MinuteRow> Rows,
    Verdict Verdict,
    long[] Totals,
    long StoredAfter,
    string StoreSize,
    TimeSpan? StopTime,
    long ServerWarnings,
    IReadOnlyList<string> WarningExamples,
    IReadOnlyList<(string Kind, long Count, string Last)> Notes,
    string? Chart);

/// <summary>
/// Writes soak.md: the method part of the file is kept as it is (it is maintained by hand in docs/soak.md); the tool
/// replaces everything from its <c>## Results</c> heading to the end with the run's figures.
/// </summary>
internal static class SoakReport
{
    public const string ResultsHeading = "## Results";

    /// <summary><paramref name="existing"/> (or a short header when there is none) with its Results section replaced.</summary>
    public static string Merge(string? existing, string results)
    {
        string head = existing ?? "# Soak benchmark\n\nThe method is described in the repository's docs/soak.md.\n\n";
        int at = head.IndexOf(ResultsHeading, StringComparison.Ordinal);
        head = at >= 0 ? head[..at] : head.TrimEnd() + "\n\n";
        return head + results;
    }

    public static string Results(SoakResult r)
    {
        var md = new StringBuilder();
        md.AppendLine(ResultsHeading);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by the last run of `dotnet run -c Release --project bench/EventflowDb.Bench -- {r.Options.CommandLine()}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {r.Seconds / 60:0.##} minutes of load, {Environment.ProcessorCount} cores, {MemoryTotal()}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}.");
        if (r.Options.Minutes < 30)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**A short run ({r.Options.Minutes:0.##} min), not the 30-minute soak**: its windows are short and its verdict is only indicative.");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Server: `{r.ServerCommand}`");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"### Verdict: {(r.Verdict.Passed ? "PASS" : "FAIL")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Rule: {GrowthRule.Text}");
        md.AppendLine();
        foreach (var reason in r.Verdict.Reasons)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {reason}");
        }

        md.AppendLine();
        md.AppendLine("### Per minute");
        md.AppendLine();
        md.AppendLine("RSS, threads and connections are the averages (and peaks) of the minute's per-second samples; latencies are the probe's");
        md.AppendLine("HdrHistogram percentiles for the minute; the counts are what happened in the minute.");
        md.AppendLine();
        md.AppendLine("| min | RSS MiB avg / max | threads avg / max | connections avg / max | ADD p50 / p99 ms | GET p50 / p99 ms | events written | events stored | delivered to subscribers | stalled dropped | connect-and-vanish | bad requests (wrong answers) | load errors |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in r.Rows)
        {
            md.AppendLine(Row(row));
        }

        md.AppendLine();
        if (r.Chart is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"![RSS, threads, connections and probe p99 per minute]({r.Chart})");
            md.AppendLine();
        }

        long T(Counter c) => r.Totals[(int)c];
        md.AppendLine("### Totals");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Events written and acknowledged: {T(Counter.EventsWritten):N0} in {T(Counter.AddBatches):N0} ADDs, of which {T(Counter.Duplicates):N0} repeats answered from their message ids and {T(Counter.WrongVersions):N0} stale expected versions refused with WRONGVERSION (both on purpose).");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Reads (GET, GETALL, LISTSTREAMS pages): {T(Counter.Reads):N0}; events delivered to the subscribers that read: {T(Counter.Delivered):N0}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Stalled subscribers ({r.Options.Stalled} at a time) found dropped by the server: {T(Counter.StalledDropped):N0}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Connections that connected and vanished: {T(Counter.Churned):N0}; bad requests: {T(Counter.BadRequests):N0}, answered wrongly: {T(Counter.BadUnexpected):N0}; other load errors: {T(Counter.LoadErrors):N0}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- After the run: {r.StoredAfter:N0} events stored, {r.StoreSize} on disk; graceful stop (SIGTERM) took {(r.StopTime is { } t ? $"{t.TotalSeconds:0.00} s" : "over a minute: killed")}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Server log lines at Warning or above: {r.ServerWarnings:N0}.");
        md.AppendLine();
        if (r.Notes.Count > 0)
        {
            md.AppendLine("### What the load did not expect");
            md.AppendLine();
            md.AppendLine("| what | count | last seen |");
            md.AppendLine("|---|---:|---|");
            foreach (var (kind, count, last) in r.Notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {Cell(kind)} | {count:N0} | {Cell(last)} |");
            }

            md.AppendLine();
        }

        if (r.WarningExamples.Count > 0)
        {
            md.AppendLine("### Server log (first and last Warning-or-above lines)");
            md.AppendLine();
            md.AppendLine("```");
            foreach (var line in r.WarningExamples)
            {
                md.AppendLine(line);
            }

            md.AppendLine("```");
            md.AppendLine();
        }

        return md.ToString();
    }

    /// <summary>One table row, also printed to the console as the run goes.</summary>
    public static string Row(MinuteRow r) => string.Create(
        CultureInfo.InvariantCulture,
        $"| {r.Minute} | {r.RssAvgMiB:0.0} / {r.RssMaxMiB:0.0} | {r.ThreadsAvg:0.0} / {r.ThreadsMax} | {r.ClientsAvg:0.0} / {r.ClientsMax} | {Ms(r.AddP50Ms)} / {Ms(r.AddP99Ms)} | {Ms(r.GetP50Ms)} / {Ms(r.GetP99Ms)} | {r.EventsWritten:N0} | {r.EventsInStore:N0} | {r.Delivered:N0} | {r.StalledDropped:N0} | {r.Churned:N0} | {r.BadRequests:N0} ({r.BadUnexpected:N0}) | {r.LoadErrors:N0} |");

    private static string Ms(double ms) => double.IsNaN(ms) ? "–" : ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal);

    private static string MemoryTotal()
    {
        try
        {
            string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 2 } ? $"{long.Parse(parts[1], CultureInfo.InvariantCulture) / 1048576.0:0.0} GiB RAM" : "RAM unknown";
        }
        catch (IOException)
        {
            return "RAM unknown";
        }
    }
}
