using System.Globalization;

namespace EventflowDb.Bench.Compare;

/// <summary>Drives a server with <c>redis-benchmark</c> and reads its CSV summary.</summary>
internal static class RedisBenchmark
{
    public static async Task<LoadResult> RunAsync(string server, int port, int clients, int pipeline, int requests, int eventsPerRequest, params string[] command)
    {
        string[] args =
        [
            "-p", port.ToString(CultureInfo.InvariantCulture),
            "-c", clients.ToString(CultureInfo.InvariantCulture),
            "-P", pipeline.ToString(CultureInfo.InvariantCulture),
            "-n", requests.ToString(CultureInfo.InvariantCulture),
            "-r", "100000",
            "--csv",
            .. command,
        ];
        var (exit, output) = await Shell.RunAsync("redis-benchmark", args).ConfigureAwait(false);
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && !l.StartsWith("\"test\"", StringComparison.Ordinal) && l.Count(ch => ch == ',') >= 7);
        if (exit != 0 || line is null)
        {
            throw new InvalidOperationException($"redis-benchmark failed against {server} (exit {exit}): {output}");
        }

        var fields = SplitCsv(line);
        double F(int i) => double.Parse(fields[fields.Count - 8 + i], CultureInfo.InvariantCulture);
        double rps = F(1);
        return new LoadResult(server, rps, rps * eventsPerRequest, F(4), F(6), double.NaN, F(7), requests, 0, "redis-benchmark");
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char ch in line)
        {
            if (ch == '"')
            {
                quoted = !quoted;
            }
            else if (ch == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(ch);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}
