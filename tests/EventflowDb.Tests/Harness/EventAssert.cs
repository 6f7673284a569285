using System.Text.Json;

namespace EventflowDb.Tests.Harness;

/// <summary>Assertions over events and logs.</summary>
public static class EventAssert
{
    /// <summary>Ids strictly increase (ordinal order of canonical ULIDs is their binary order).</summary>
    public static void IdsStrictlyIncrease(IReadOnlyList<StoredEvent> events)
    {
        for (int i = 1; i < events.Count; i++)
        {
            if (string.CompareOrdinal(events[i - 1].Id, events[i].Id) >= 0)
            {
                Assert.Fail($"ids do not strictly increase at index {i}:\n{events[i - 1].Raw}\n{events[i].Raw}");
            }
        }
    }

    /// <summary>Positions are consecutive, starting at <paramref name="first"/> when given.</summary>
    public static void PositionsConsecutive(IReadOnlyList<StoredEvent> events, long? first = null)
    {
        if (events.Count == 0)
        {
            return;
        }

        long start = first ?? events[0].Position;
        for (int i = 0; i < events.Count; i++)
        {
            if (events[i].Position != start + i)
            {
                Assert.Fail($"position gap at index {i}: expected {start + i}, got {events[i].Position}: {events[i].Raw}");
            }
        }
    }

    /// <summary>The events of one ADD: same stream and added_at, consecutive versions from <paramref name="firstVersion"/>, consecutive positions, increasing ids.</summary>
    public static void OneAdd(IReadOnlyList<StoredEvent> events, string stream, long? firstVersion = null)
    {
        Assert.NotEmpty(events);
        long v0 = firstVersion ?? events[0].Version;
        for (int i = 0; i < events.Count; i++)
        {
            var e = events[i];
            Assert.True(e.Stream == stream, $"event {i} is in stream '{e.Stream}', expected '{stream}': {e.Raw}");
            Assert.True(e.Version == v0 + i, $"event {i} has version {e.Version}, expected {v0 + i}: {e.Raw}");
            Assert.True(e.AddedAt == events[0].AddedAt, $"added_at differs within one ADD: {events[0].AddedAt} vs {e.AddedAt}");
        }

        PositionsConsecutive(events);
        IdsStrictlyIncrease(events);
    }

    /// <summary>causation_id defaults to the id, correlation_id to the causation id.</summary>
    public static void DefaultCausation(StoredEvent e)
    {
        Assert.True(e.CausationId == e.Id, $"causation_id should default to the event id: {e.Raw}");
        Assert.True(e.CorrelationId == e.CausationId, $"correlation_id should default to the causation id: {e.Raw}");
    }

    /// <summary>added_at is a plausible "now" (the server's clock is this machine's clock).</summary>
    public static void AddedRecently(StoredEvent e)
    {
        var delta = (DateTime.UtcNow - e.AddedAtUtc).Duration();
        Assert.True(delta < TimeSpan.FromMinutes(5), $"added_at {e.AddedAt} is {delta} away from now ({DateTime.UtcNow:O})");
    }

    /// <summary>The JSON value <paramref name="actual"/> equals <paramref name="expectedJson"/> (semantically).</summary>
    public static void JsonEqual(string expectedJson, JsonElement actual)
    {
        using var doc = JsonDocument.Parse(expectedJson);
        Assert.True(JsonElement.DeepEquals(doc.RootElement, actual), $"expected JSON {expectedJson}, got {actual.GetRawText()}");
    }

    /// <summary>A JSON string value equal to <paramref name="expected"/>.</summary>
    public static void JsonString(string expected, JsonElement actual)
    {
        Assert.True(actual.ValueKind == JsonValueKind.String, $"expected the JSON string {JsonSerializer.Serialize(expected)}, got {actual.GetRawText()}");
        Assert.Equal(expected, actual.GetString());
    }

    /// <summary>A whole log as read by GETALL: positions 0..n-1 and strictly increasing ids.</summary>
    public static void WholeLog(IReadOnlyList<StoredEvent> log)
    {
        PositionsConsecutive(log, 0);
        IdsStrictlyIncrease(log);
    }

    /// <summary>One stream as read by GET: versions 0..n-1, increasing positions and ids.</summary>
    public static void WholeStream(IReadOnlyList<StoredEvent> events, string stream)
    {
        for (int i = 0; i < events.Count; i++)
        {
            Assert.True(events[i].Stream == stream && events[i].Version == i, $"stream {stream}: event {i} is {events[i].Raw}");
            if (i > 0)
            {
                Assert.True(events[i].Position > events[i - 1].Position, $"stream {stream}: positions not increasing at {i}");
            }
        }

        IdsStrictlyIncrease(events);
    }

    /// <summary>Error text starts with <paramref name="prefix"/>.</summary>
    public static void StartsWith(string prefix, string actual) =>
        Assert.True(actual.StartsWith(prefix, StringComparison.Ordinal), $"expected a reply starting with '{prefix}', got '{actual}'");
}
