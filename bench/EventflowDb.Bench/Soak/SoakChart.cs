using ScottPlot;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// Draws soak.png: three rows over the run's minutes — server RSS (per second, with the rule's baseline and end windows
/// shaded), threads and connections (per second), and the probe's p99 ADD and GET latency (per minute).
/// </summary>
internal static class SoakChart
{
    public static bool TryWrite(IReadOnlyList<SoakSample> samples, IReadOnlyList<MinuteRow> rows, double seconds, string path)
    {
        try
        {
            var multiplot = new Multiplot();
            multiplot.AddPlots(3);
            var (baseline, end) = GrowthRule.Windows(seconds);
            double[] minutes = [.. samples.Select(s => s.Seconds / 60)];

            var memory = multiplot.GetPlot(0);
            var rss = memory.Add.Scatter(minutes, samples.Select(s => s.ResidentBytes < 0 ? double.NaN : s.ResidentBytes / 1048576.0).ToArray());
            rss.MarkerSize = 0;
            rss.LegendText = "server RSS (MiB)";
            var baseSpan = memory.Add.HorizontalSpan(baseline.From / 60, baseline.To / 60);
            baseSpan.LegendText = "baseline window";
            var endSpan = memory.Add.HorizontalSpan(end.From / 60, Math.Min(end.To, seconds) / 60);
            endSpan.LegendText = "end window";
            memory.Title("EventflowDB soak: server RSS, threads, connections, probe p99");
            memory.YLabel("RSS MiB");
            memory.ShowLegend(Alignment.UpperLeft);

            var counts = multiplot.GetPlot(1);
            var threads = counts.Add.Scatter(minutes, samples.Select(s => s.Threads < 0 ? double.NaN : s.Threads).ToArray());
            threads.MarkerSize = 0;
            threads.LegendText = "server threads";
            var clients = counts.Add.Scatter(minutes, samples.Select(s => s.Clients < 0 ? double.NaN : s.Clients).ToArray());
            clients.MarkerSize = 0;
            clients.LegendText = "connected clients";
            counts.YLabel("count");
            counts.ShowLegend(Alignment.UpperLeft);

            var latency = multiplot.GetPlot(2);
            double[] rowMinutes = [.. rows.Select(r => r.Minute - 0.5)];
            var add = latency.Add.Scatter(rowMinutes, rows.Select(r => r.AddP99Ms).ToArray());
            add.LegendText = "probe ADD p99 (ms)";
            var get = latency.Add.Scatter(rowMinutes, rows.Select(r => r.GetP99Ms).ToArray());
            get.LegendText = "probe GET p99 (ms)";
            latency.YLabel("ms");
            latency.XLabel("minute of the run");
            latency.ShowLegend(Alignment.UpperLeft);

            double rssTop = samples.Select(s => s.ResidentBytes / 1048576.0).DefaultIfEmpty(1).Max();
            memory.Axes.SetLimitsY(0, rssTop * 1.15); // from zero, so that growth looks as large as it is
            foreach (var plot in (Plot[])[memory, counts, latency])
            {
                plot.Axes.SetLimitsX(0, seconds / 60);
            }

            counts.Axes.SetLimitsY(0, samples.Select(s => (double)Math.Max(s.Threads, s.Clients)).DefaultIfEmpty(1).Max() * 1.15);
            latency.Axes.SetLimitsY(0, rows.SelectMany(r => (double[])[r.AddP99Ms, r.GetP99Ms]).Where(double.IsFinite).DefaultIfEmpty(1).Max() * 1.15);

            multiplot.SavePng(path, 1400, 1050);
            return true;
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or InvalidOperationException or IOException or ArgumentException)
        {
            Console.Error.WriteLine($"Chart not written: {ex.Message}");
            return false;
        }
    }
}
