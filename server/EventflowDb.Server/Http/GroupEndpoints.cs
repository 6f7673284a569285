using System.Text.Json;
using System.Text.Json.Serialization;
using EventflowDb.Server.Commands.Groups;
using EventflowDb.Server.Groups;
using Microsoft.AspNetCore.Http;
using NUlid;

namespace EventflowDb.Server.Http;

/// <summary>
/// Consumer groups as JSON, for the web console and scripts: <c>GET /groups</c> (GROUP INFO), <c>GET /groups/{group}</c>
/// (GROUP INFO of one group with its first pending and parked events, GROUP PARKED) and
/// <c>POST /groups/{group}/replay</c> (GROUP REPLAY). Each runs as the GROUP command for the ACL, with the same check of
/// the group's channel against the user's read patterns, and calls the same <see cref="GroupRegistry"/> methods.
/// </summary>
internal sealed class GroupEndpoints(ServerHealth health)
{
    public const string GroupsPrefix = "/groups/";

    private const int DefaultCount = 100;
    private const int MaxCount = 10_000;

    private static readonly string[] Commands = ["GROUP"];

    public Task ListAsync(HttpContext context) => ApiCall.RunAsync(context, health, Commands, async caller =>
    {
        var groups = await caller.Server.Groups.InfoAsync(null).ConfigureAwait(false);
        var visible = groups.FindAll(g => caller.User.Rules.CoversChannel(g.Channel));
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartArray();
            foreach (var g in visible)
            {
                WriteInfo(writer, g, close: true);
            }

            writer.WriteEndArray();
        }).ConfigureAwait(false);
    });

    public Task GetAsync(HttpContext context) => ApiCall.RunAsync(context, health, Commands, async caller =>
    {
        string name = GroupName(context);
        long count = ApiArguments.NonNegative(context.Request, "count");
        int take = (int)Math.Min(count == 0 ? DefaultCount : count, MaxCount);
        var registry = caller.Server.Groups;
        await GroupCommand.CheckGroupRightsAsync(registry, caller, name).ConfigureAwait(false);
        var info = (await registry.InfoAsync(name).ConfigureAwait(false))[0];
        var pending = await registry.PendingAsync(name, take).ConfigureAwait(false);
        var parked = await registry.ParkedAsync(name, take).ConfigureAwait(false);
        await WriteJsonAsync(context, writer =>
        {
            WriteInfo(writer, info, close: false);
            writer.WriteStartArray("pending_events");
            foreach (var p in pending)
            {
                writer.WriteStartObject();
                writer.WriteString("id", p.Id.ToString());
                writer.WriteString("consumer", p.Consumer);
                writer.WriteNumber("deliveries", p.Deliveries);
                writer.WritePropertyName("event");
                if (p.Json is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    writer.WriteRawValue(p.Json, skipInputValidation: true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("parked_events");
            foreach (byte[] json in parked)
            {
                writer.WriteRawValue(json, skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    });

    public Task ReplayAsync(HttpContext context) => ApiCall.RunAsync(context, health, Commands, async caller =>
    {
        string name = GroupName(context);
        var registry = caller.Server.Groups;
        await GroupCommand.CheckGroupRightsAsync(registry, caller, name).ConfigureAwait(false);
        int replayed = await registry.ReplayAsync(name).ConfigureAwait(false);
        await Results.Json(new ReplayReply(replayed)).ExecuteAsync(context).ConfigureAwait(false);
    });

    /// <summary>The group named by the path segment after <c>/groups/</c>, percent-decoded.</summary>
    private static string GroupName(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        string rest = path.StartsWith(GroupsPrefix, StringComparison.Ordinal) ? path[GroupsPrefix.Length..] : "";
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string segment = slash < 0 ? rest : rest[..slash];
        return Uri.UnescapeDataString(segment);
    }

    private static void WriteInfo(Utf8JsonWriter writer, GroupInfo g, bool close)
    {
        writer.WriteStartObject();
        writer.WriteString("name", g.Name);
        writer.WriteString("channel", g.Channel);
        writer.WriteString("position", g.Position == Ulid.Empty ? "0" : g.Position.ToString());
        writer.WriteNumber("pending", g.Pending);
        writer.WriteNumber("parked", g.Parked);
        writer.WriteStartArray("consumers");
        foreach (string consumer in g.Consumers)
        {
            writer.WriteStringValue(consumer);
        }

        writer.WriteEndArray();
        writer.WriteNumber("ack_timeout_ms", g.AckTimeoutMs);
        writer.WriteNumber("max_deliveries", g.MaxDeliveries);
        if (close)
        {
            writer.WriteEndObject();
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = JsonPages.JsonContentType;
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            write(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>A consumer group as <c>GET /groups</c> lists it (GROUP INFO's fields).</summary>
/// <param name="Name">The group's name.</param>
/// <param name="Channel">The channel it follows.</param>
/// <param name="Position">The id of the last event delivered for the first time ("0" before any).</param>
/// <param name="Pending">Events delivered and not yet acknowledged.</param>
/// <param name="Parked">Events parked after too many deliveries (or NACK PARK).</param>
/// <param name="Consumers">Every consumer that has read from the group.</param>
/// <param name="AckTimeoutMs">Milliseconds before an unacknowledged event is delivered again.</param>
/// <param name="MaxDeliveries">Deliveries before an event is parked.</param>
internal sealed record GroupSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("position")] string Position,
    [property: JsonPropertyName("pending")] int Pending,
    [property: JsonPropertyName("parked")] int Parked,
    [property: JsonPropertyName("consumers")] string[] Consumers,
    [property: JsonPropertyName("ack_timeout_ms")] long AckTimeoutMs,
    [property: JsonPropertyName("max_deliveries")] int MaxDeliveries);

/// <summary>The reply of <c>POST /groups/{group}/replay</c>.</summary>
/// <param name="Replayed">How many parked events became pending again (due at once).</param>
internal sealed record ReplayReply([property: JsonPropertyName("replayed")] int Replayed);
