using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EventflowDb.Tests.Harness;

/// <summary>One event as the server returned it, parsed and checked against the event contract.</summary>
public sealed partial class StoredEvent
{
    /// <summary>The zero ULID.</summary>
    public const string ZeroUlid = "00000000000000000000000000";

    private StoredEvent(string raw, JsonElement root)
    {
        Raw = raw;
        Root = root;
    }

    /// <summary>The JSON exactly as received.</summary>
    public string Raw { get; }

    /// <summary>The parsed JSON.</summary>
    public JsonElement Root { get; }

    /// <summary>id.</summary>
    public string Id => Root.GetProperty("id").GetString()!;

    /// <summary>position.</summary>
    public long Position => Root.GetProperty("position").GetInt64();

    /// <summary>stream.</summary>
    public string Stream => Root.GetProperty("stream").GetString()!;

    /// <summary>version.</summary>
    public long Version => Root.GetProperty("version").GetInt64();

    /// <summary>type.</summary>
    public string Type => Root.GetProperty("type").GetString()!;

    /// <summary>data.</summary>
    public JsonElement Data => Root.GetProperty("data");

    /// <summary>metadata, or null when absent.</summary>
    public JsonElement? Metadata => Root.TryGetProperty("metadata", out var m) ? m : null;

    /// <summary>causation_id.</summary>
    public string CausationId => Root.GetProperty("causation_id").GetString()!;

    /// <summary>correlation_id.</summary>
    public string CorrelationId => Root.GetProperty("correlation_id").GetString()!;

    /// <summary>message_id, or null when absent.</summary>
    public string? MessageId => Root.TryGetProperty("message_id", out var m) ? m.GetString() : null;

    /// <summary>added_at as sent.</summary>
    public string AddedAt => Root.GetProperty("added_at").GetString()!;

    /// <summary>Parses <paramref name="raw"/> and checks field order, types and formats; throws with the JSON in the message otherwise.</summary>
    public static StoredEvent Parse(string raw)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"event is not valid JSON ({ex.Message}): {raw}");
        }

        Check(root.ValueKind == JsonValueKind.Object, "event is not a JSON object", raw);
        var names = root.EnumerateObject().Select(p => p.Name).ToList();
        var expected = new List<string> { "id", "position", "stream", "version", "type", "data" };
        if (names.Contains("metadata"))
        {
            expected.Add("metadata");
        }

        expected.AddRange(["causation_id", "correlation_id"]);
        if (names.Contains("message_id"))
        {
            expected.Add("message_id");
        }

        expected.Add("added_at");
        if (names.Contains("forgotten"))
        {
            expected.Add("forgotten"); // FORGET: data and metadata are null
        }

        Check(names.SequenceEqual(expected), $"fields are [{string.Join(", ", names)}], expected [{string.Join(", ", expected)}]", raw);

        var e = new StoredEvent(raw, root);
        Check(IsUlid(e.Id), "id is not a ULID", raw);
        Check(root.GetProperty("position").ValueKind == JsonValueKind.Number && root.GetProperty("position").TryGetInt64(out long pos) && pos >= 0, "position is not a non-negative integer", raw);
        Check(root.GetProperty("stream").ValueKind == JsonValueKind.String && e.Stream.Length > 0, "stream is not a non-empty string", raw);
        Check(root.GetProperty("version").ValueKind == JsonValueKind.Number && root.GetProperty("version").TryGetInt64(out long ver) && ver >= 0, "version is not a non-negative integer", raw);
        Check(root.GetProperty("type").ValueKind == JsonValueKind.String && e.Type.Length > 0, "type is not a non-empty string", raw);
        Check(root.GetProperty("causation_id").ValueKind == JsonValueKind.String && IsUlid(e.CausationId), "causation_id is not a ULID", raw);
        Check(root.GetProperty("correlation_id").ValueKind == JsonValueKind.String && IsUlid(e.CorrelationId), "correlation_id is not a ULID", raw);
        if (root.TryGetProperty("message_id", out var mid))
        {
            Check(mid.ValueKind == JsonValueKind.String, "message_id is not a string", raw);
        }

        Check(root.GetProperty("added_at").ValueKind == JsonValueKind.String && AddedAtFormat().IsMatch(e.AddedAt), "added_at is not yyyy-MM-ddTHH:mm:ss.fffZ", raw);
        Check(DateTime.TryParse(e.AddedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out _), "added_at is not a valid timestamp", raw);
        return e;
    }

    /// <summary>Parses every string of a reply.</summary>
    public static List<StoredEvent> ParseAll(IEnumerable<string> raws) => [.. raws.Select(Parse)];

    /// <summary>True for a canonical (upper-case Crockford base32, 26 characters) ULID.</summary>
    public static bool IsUlid(string? s) => s is not null && UlidFormat().IsMatch(s);

    /// <summary>added_at as a UTC DateTime.</summary>
    public DateTime AddedAtUtc => DateTime.Parse(AddedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <inheritdoc />
    public override string ToString() => Raw;

    private static void Check(bool condition, string message, string raw)
    {
        if (!condition)
        {
            throw new Xunit.Sdk.XunitException($"{message}: {raw}");
        }
    }

    [GeneratedRegex("^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
    private static partial Regex UlidFormat();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex AddedAtFormat();
}
