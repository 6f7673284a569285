using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventflowDb.Client;

/// <summary>Serializes and checks the UTF-8 JSON payloads (data and metadata) of events.</summary>
public static class JsonPayload
{
    /// <summary>Serializes <paramref name="value"/> to UTF-8 JSON with source-generated (or otherwise prepared) metadata.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">Its JSON contract, e.g. <c>MyJsonContext.Default.MyEvent</c>.</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    public static ReadOnlyMemory<byte> Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
    }

    /// <summary>Serializes <paramref name="value"/> to UTF-8 JSON with reflection-based metadata.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/> (camelCase names).</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public static ReadOnlyMemory<byte> Serialize<T>(T value, JsonSerializerOptions? options = null) =>
        JsonSerializer.SerializeToUtf8Bytes(value, options ?? WebOptions);

    /// <summary>Deserializes UTF-8 JSON with source-generated (or otherwise prepared) metadata.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="json">The UTF-8 JSON.</param>
    /// <param name="typeInfo">The JSON contract of <typeparamref name="T"/>.</param>
    /// <returns>The value (null only when the JSON is <c>null</c>).</returns>
    public static T? Deserialize<T>(ReadOnlyMemory<byte> json, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return JsonSerializer.Deserialize(json.Span, typeInfo);
    }

    /// <summary>Deserializes UTF-8 JSON with reflection-based metadata.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="json">The UTF-8 JSON.</param>
    /// <param name="options">Serializer options; null: <see cref="JsonSerializerDefaults.Web"/>.</param>
    /// <returns>The value (null only when the JSON is <c>null</c>).</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; use the JsonTypeInfo overload with a source-generated context for native AOT.")]
    public static T? Deserialize<T>(ReadOnlyMemory<byte> json, JsonSerializerOptions? options = null) =>
        JsonSerializer.Deserialize<T>(json.Span, options ?? WebOptions);

    /// <summary>True when <paramref name="utf8Json"/> is exactly one complete JSON value (leading and trailing white space allowed).</summary>
    /// <param name="utf8Json">The bytes to check.</param>
    /// <returns>True for valid JSON.</returns>
    public static bool IsValidJson(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The options used when none are given: <see cref="JsonSerializerDefaults.Web"/>.</summary>
    internal static JsonSerializerOptions WebOptions { get; } = new(JsonSerializerDefaults.Web);
}
