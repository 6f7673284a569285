using System.Globalization;

namespace EventflowDb.Server.Configuration;

/// <summary>Sizes as Redis writes them in its config: a number with an optional unit b, k, kb, m, mb, g, gb (case-insensitive).</summary>
internal static class ByteSize
{
    private static readonly (string Unit, long Factor)[] Units =
    [
        ("gb", 1024L * 1024 * 1024), ("mb", 1024L * 1024), ("kb", 1024L),
        ("g", 1_000_000_000L), ("m", 1_000_000L), ("k", 1000L), ("b", 1L),
    ];

    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        string lower = text.Trim().ToLowerInvariant();
        long factor = 1;
        foreach (var (unit, f) in Units)
        {
            if (lower.EndsWith(unit, StringComparison.Ordinal))
            {
                lower = lower[..^unit.Length];
                factor = f;
                break;
            }
        }

        if (!long.TryParse(lower, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count > long.MaxValue / factor)
        {
            return false;
        }

        bytes = count * factor;
        return true;
    }

    /// <summary>The shortest exact form: <c>16mb</c> for 16 MiB, the plain number otherwise.</summary>
    public static string Format(long bytes)
    {
        foreach (var (unit, factor) in Units.AsSpan(0, 3))
        {
            if (bytes != 0 && bytes % factor == 0)
            {
                return (bytes / factor).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
