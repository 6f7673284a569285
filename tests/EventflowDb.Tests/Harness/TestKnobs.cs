using System.Globalization;

namespace EventflowDb.Tests.Harness;

/// <summary>
/// Settings of the long randomized tests, read from environment variables so that a failure can be repeated
/// (<c>EFDB_SEED</c>) and a longer run asked for (<c>EFDB_CRASH_POINTS</c>, <c>EFDB_FLIPS</c>) without changing code.
/// </summary>
public static class TestKnobs
{
    /// <summary>The seed of the randomized tests: <c>EFDB_SEED</c> when set, else a fresh one (print it).</summary>
    public static int Seed() => OptionalInt("EFDB_SEED") ?? Random.Shared.Next(1, int.MaxValue);

    /// <summary>A non-negative whole number from the environment variable <paramref name="name"/>, or null when it is not set.</summary>
    public static int? OptionalInt(string name)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= 0
            ? value
            : throw new ArgumentException($"{name}='{text}' is not a non-negative whole number");
    }

    /// <summary>A non-negative whole number from the environment variable <paramref name="name"/>, else <paramref name="defaultValue"/>.</summary>
    public static int Int(string name, int defaultValue) => OptionalInt(name) ?? defaultValue;
}
