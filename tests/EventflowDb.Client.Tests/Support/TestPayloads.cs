using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventflowDb.Client.Tests.Support;

/// <summary>A typed payload.</summary>
public sealed record Deposited(decimal Amount, string Currency, DateTimeOffset At);

/// <summary>Another typed payload.</summary>
public sealed record Renamed(string NewName);

/// <summary>Typed metadata.</summary>
public sealed record AuditMetadata(string User, string Ip);

/// <summary>Source-generated contracts of the test payloads.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Deposited))]
[JsonSerializable(typeof(Renamed))]
[JsonSerializable(typeof(AuditMetadata))]
public sealed partial class TestJsonContext : JsonSerializerContext;
