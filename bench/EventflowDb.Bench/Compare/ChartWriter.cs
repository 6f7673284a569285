using ScottPlot;

namespace EventflowDb.Bench.Compare;

/// <summary>Draws EventflowDB's throughput relative to Redis per scenario as a PNG bar chart.</summary>
internal static class ChartWriter
{
    public static bool TryWrite(IReadOnlyList<ScenarioResult> results, string path)
    {
        try
        {
            var plot = new Plot();
            var bars = new List<Bar>();
            var ticks = new List<Tick>();
            for (int i = 0; i < results.Count; i++)
            {
                double ratio = double.IsFinite(results[i].Ratio) ? results[i].Ratio : 0;
                bars.Add(new Bar
                {
                    Position = i,
                    Value = ratio,
                    FillColor = ratio >= results[i].TargetRatio && results[i].TargetEventsPerSecond is null ? Colors.SeaGreen : Colors.SteelBlue,
                    Label = $"{ratio:0.00}x",
                });
                ticks.Add(new Tick(i, Wrap(results[i].Name)));
            }

            var series = plot.Add.Bars(bars);
            series.ValueLabelStyle.FontSize = 12;
            var line = plot.Add.HorizontalLine(1.0);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.DarkRed;
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
            plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
            plot.Axes.Bottom.MajorTickStyle.Length = 0;
            plot.Axes.Margins(bottom: 0);
            plot.Title("EventflowDB throughput / Redis throughput (1.0 = same as Redis)");
            plot.YLabel("ratio");
            plot.SavePng(path, 1400, 600);
            return true;
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine($"Chart not written: {ex.Message}");
            return false;
        }
    }

    private static string Wrap(string name) => name.Replace(", ", "\n", StringComparison.Ordinal);
}
