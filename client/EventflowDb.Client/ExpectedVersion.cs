using System.Globalization;

namespace EventflowDb.Client;

/// <summary>
/// The optimistic-concurrency check of an append: what the stream must look like for the append to be stored.
/// A version here is an event <em>count</em>: <c>Exact(n)</c> means "the stream holds exactly <c>n</c> events",
/// which is also the version the first appended event gets.
/// </summary>
/// <remarks>The default value is <see cref="Any"/>.</remarks>
public readonly struct ExpectedVersion : IEquatable<ExpectedVersion>
{
    // 0: any, -1: no_stream, -2: exists, n > 0: exact count n - 1 (so that default(ExpectedVersion) is Any).
    private readonly long _code;

    private ExpectedVersion(long code) => _code = code;

    /// <summary>No check: the events are appended whatever the stream holds (wire form <c>any</c>).</summary>
    public static ExpectedVersion Any => default;

    /// <summary>The stream must not exist yet, i.e. hold no event (wire form <c>no_stream</c>).</summary>
    public static ExpectedVersion NoStream => new(-1);

    /// <summary>The stream must hold at least one event (wire form <c>exists</c>).</summary>
    public static ExpectedVersion Exists => new(-2);

    /// <summary>True when this is an exact event count (<see cref="Exact(long)"/>).</summary>
    public bool IsExact => _code > 0;

    /// <summary>The exact event count, or null for <see cref="Any"/>, <see cref="NoStream"/> and <see cref="Exists"/>.</summary>
    public long? Value => _code > 0 ? _code - 1 : null;

    /// <summary>The stream must hold exactly <paramref name="eventCount"/> events (the version of its last event plus one).</summary>
    /// <param name="eventCount">The number of events the stream holds now; the first appended event gets this version.</param>
    /// <returns>The expected version.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eventCount"/> is negative (or <see cref="long.MaxValue"/>).</exception>
    public static ExpectedVersion Exact(long eventCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(eventCount);
        ArgumentOutOfRangeException.ThrowIfEqual(eventCount, long.MaxValue);
        return new ExpectedVersion(eventCount + 1);
    }

    /// <summary>Parses the wire form: a non-negative integer, <c>any</c>, <c>no_stream</c> or <c>exists</c>.</summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="version">The parsed value, or <see cref="Any"/> when parsing fails.</param>
    /// <returns>True when <paramref name="text"/> is a valid expected version.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out ExpectedVersion version)
    {
        version = Any;
        switch (text)
        {
            case "any":
                return true;
            case "no_stream":
                version = NoStream;
                return true;
            case "exists":
                version = Exists;
                return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long count) && count < long.MaxValue)
        {
            version = Exact(count);
            return true;
        }

        return false;
    }

    /// <summary>The wire form: the count, <c>any</c>, <c>no_stream</c> or <c>exists</c>.</summary>
    /// <returns>The wire form.</returns>
    public override string ToString() => _code switch
    {
        0 => "any",
        -1 => "no_stream",
        -2 => "exists",
        _ => (_code - 1).ToString(CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    public bool Equals(ExpectedVersion other) => _code == other._code;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ExpectedVersion other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _code.GetHashCode();

    /// <summary>True when both values are the same check.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>True when equal.</returns>
    public static bool operator ==(ExpectedVersion left, ExpectedVersion right) => left.Equals(right);

    /// <summary>True when the values are different checks.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>True when not equal.</returns>
    public static bool operator !=(ExpectedVersion left, ExpectedVersion right) => !left.Equals(right);

    /// <summary>Writes the value into a JSON request: a number for an exact count, a string otherwise.</summary>
    internal void WriteTo(System.Text.Json.Utf8JsonWriter writer, string propertyName)
    {
        if (IsExact)
        {
            writer.WriteNumber(propertyName, _code - 1);
        }
        else
        {
            writer.WriteString(propertyName, ToString());
        }
    }
}
