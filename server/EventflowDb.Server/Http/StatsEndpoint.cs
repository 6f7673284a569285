using System.Text.Json.Serialization;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Network;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// <c>GET /stats</c>: what EVENTCOUNT, STREAMCOUNT, their estimates, CHECKSUM, SIZE, UPTIME and VERSION answer, in one
/// JSON object with the same values and human strings. The caller needs the rights of every one of those commands.
/// </summary>
internal sealed class StatsEndpoint(ServerHealth health)
{
    public static readonly string[] Commands = ["EVENTCOUNT", "STREAMCOUNT", "EVENTCOUNTEST", "STREAMCOUNTEST", "CHECKSUM", "SIZE", "UPTIME", "VERSION"];

    public Task GetAsync(HttpContext context) => ApiCall.RunAsync(context, health, Commands, caller =>
    {
        var store = caller.Server.Store;
        var checksum = store.Checksum;
        long bytes = store.SizeOnDisk;
        var uptime = caller.Server.Uptime.Elapsed;
        var stats = new StatsReply(
            store.EventCount,
            store.StreamCount,
            store.EventCountEstimate,
            store.StreamCountEstimate,
            checksum.LastId.ToString(),
            ChecksumCommand.Hex(checksum.Value),
            bytes,
            HumanFormat.Bytes(bytes),
            (long)uptime.TotalMilliseconds,
            HumanFormat.Duration(uptime),
            ServerContext.Version);
        return Results.Json(stats).ExecuteAsync(context);
    });
}

/// <summary>The reply of <c>GET /stats</c>.</summary>
/// <param name="EventCount">EVENTCOUNT: committed events, exact.</param>
/// <param name="StreamCount">STREAMCOUNT: streams holding events, exact.</param>
/// <param name="EventCountEstimate">EVENTCOUNTEST: events as of the last periodic index.</param>
/// <param name="StreamCountEstimate">STREAMCOUNTEST: streams as of the last periodic index.</param>
/// <param name="LastId">CHECKSUM's first element: the id of the last event (the zero ULID on an empty store).</param>
/// <param name="Checksum">CHECKSUM's second element: the chained checksum, 16 hex digits.</param>
/// <param name="SizeBytes">SIZE's first element: bytes on disk.</param>
/// <param name="Size">SIZE's second element, such as "1.2 MB".</param>
/// <param name="UptimeMs">UPTIME's first element: milliseconds.</param>
/// <param name="Uptime">UPTIME's second element, such as "3m 12s".</param>
/// <param name="Version">VERSION: the server's semantic version.</param>
internal sealed record StatsReply(
    [property: JsonPropertyName("event_count")] long EventCount,
    [property: JsonPropertyName("stream_count")] long StreamCount,
    [property: JsonPropertyName("event_count_estimate")] long EventCountEstimate,
    [property: JsonPropertyName("stream_count_estimate")] long StreamCountEstimate,
    [property: JsonPropertyName("last_id")] string LastId,
    [property: JsonPropertyName("checksum")] string Checksum,
    [property: JsonPropertyName("size_bytes")] long SizeBytes,
    [property: JsonPropertyName("size")] string Size,
    [property: JsonPropertyName("uptime_ms")] long UptimeMs,
    [property: JsonPropertyName("uptime")] string Uptime,
    [property: JsonPropertyName("version")] string Version);
