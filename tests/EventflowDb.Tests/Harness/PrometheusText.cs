using System.Globalization;
using System.Text.RegularExpressions;

namespace EventflowDb.Tests.Harness;

/// <summary>One sample of a Prometheus text exposition: <c>name{label="value",...} value</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4: every line is a HELP, a TYPE, or a sample of a
/// family declared by TYPE before it; names and labels follow the format's grammar; values are floats (or +Inf, -Inf, NaN).
/// Anything else throws, so a scrape that Prometheus would reject fails the test.
/// </summary>
public static partial class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    public static (IReadOnlyDictionary<string, string> Types, IReadOnlyList<PrometheusSample> Samples) Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<PrometheusSample>();
        int lineNumber = 0;
        foreach (string line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                if (comment.Success && comment.Groups[1].Value == "TYPE")
                {
                    string type = comment.Groups[3].Value;
                    Check(Array.IndexOf(Types, type) >= 0, lineNumber, line, $"unknown type '{type}'");
                    Check(types.TryAdd(comment.Groups[2].Value, type), lineNumber, line, "second TYPE line for the family");
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Check(sample.Success, lineNumber, line, "not a sample line");
            string name = sample.Groups["name"].Value;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (sample.Groups["labels"].Success && sample.Groups["labels"].Value.Length > 0)
            {
                foreach (Match label in Label().Matches(sample.Groups["labels"].Value))
                {
                    Check(labels.TryAdd(label.Groups[1].Value, label.Groups[2].Value), lineNumber, line, "label given twice");
                }
            }

            string family = FamilyOf(name, types);
            Check(types.ContainsKey(family), lineNumber, line, $"sample of family '{family}' without a TYPE line before it");
            samples.Add(new PrometheusSample(name, labels, ParseValue(sample.Groups["value"].Value, lineNumber, line)));
        }

        return (types, samples);
    }

    /// <summary>The one sample called <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public static double Value(this IReadOnlyList<PrometheusSample> samples, string name, params (string Name, string Value)[] labels)
    {
        var matching = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        Assert.True(matching.Count == 1, $"{matching.Count} samples named {name} with labels {string.Join(",", labels)}");
        return matching[0].Value;
    }

    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (string suffix in (string[])["_bucket", "_sum", "_count"])
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(name[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static double ParseValue(string text, int lineNumber, string line) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw new FormatException($"line {lineNumber}: '{text}' is not a value: {line}"),
    };

    private static void Check(bool condition, int lineNumber, string line, string problem)
    {
        if (!condition)
        {
            throw new FormatException($"line {lineNumber}: {problem}: {line}");
        }
    }

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\\n]|\\[\\""n])*"",?)*)\})? (?<value>\S+)( -?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
