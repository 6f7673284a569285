namespace EventflowDb.Bench.Compare;

/// <summary>
/// The <c>## </c> sections of docs/benchmarks.md that a mode other than <c>compare</c> writes (subscribe, ops) or that
/// were written by hand (TLS, HTTP): replaced in place by a new run of their mode, and carried over when <c>compare</c>
/// writes the report anew.
/// </summary>
internal static class ReportSections
{
    /// <summary>
    /// <paramref name="report"/> with <paramref name="section"/> in place of the section titled <paramref name="title"/>
    /// (up to the next <c>## </c> heading); when it has none, inserted before the heading <paramref name="before"/>, or at
    /// the end when that is null or absent.
    /// </summary>
    public static string Merge(string report, string title, string section, string? before)
    {
        int start = report.IndexOf(title, StringComparison.Ordinal);
        if (start >= 0)
        {
            int next = report.IndexOf("\n## ", start + title.Length, StringComparison.Ordinal);
            return report[..start] + section + (next >= 0 ? report[(next + 1)..] : "");
        }

        int at = before is null ? -1 : report.IndexOf(before, StringComparison.Ordinal);
        return at >= 0 ? report[..at] + section + report[at..] : report.TrimEnd() + "\n\n" + section;
    }

    /// <summary>The section titled <paramref name="title"/> of a report written earlier ("" when none).</summary>
    public static string Existing(string report, string title)
    {
        int start = report.IndexOf(title, StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }

        int next = report.IndexOf("\n## ", start + title.Length, StringComparison.Ordinal);
        return next >= 0 ? report[start..(next + 1)] : report[start..].TrimEnd() + "\n\n";
    }

    /// <summary>
    /// <paramref name="report"/> with every <c>## </c> section of <paramref name="previous"/> that it lacks appended, in
    /// their earlier order: what other modes or people wrote into the report survives a new <c>compare</c> run.
    /// </summary>
    public static string CarryOver(string previous, string report)
    {
        foreach (string title in Titles(previous))
        {
            if (!report.Contains(title, StringComparison.Ordinal))
            {
                report = report.TrimEnd() + "\n\n" + Existing(previous, title);
            }
        }

        return report;
    }

    /// <summary>The <c>## </c> headings of a report, each as its whole line.</summary>
    private static IEnumerable<string> Titles(string report) =>
        report.Split('\n').Where(line => line.StartsWith("## ", StringComparison.Ordinal)).Select(line => line.TrimEnd('\r'));
}
