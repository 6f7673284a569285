using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>
/// STREAMMETA's reply (and <c>GET /streams/{stream}/metadata</c>'s body):
/// <c>{"stream","maxCount","maxAge","truncated_before","deleted","forgotten_before","next_version"}</c>.
/// </summary>
internal static class StreamMetaJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(StreamMetadata metadata)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("stream"u8, metadata.Stream);
            writer.WriteNumber("maxCount"u8, metadata.MaxCount);
            writer.WriteNumber("maxAge"u8, metadata.MaxAgeMs);
            writer.WriteNumber("truncated_before"u8, metadata.TruncatedBefore);
            writer.WriteBoolean("deleted"u8, metadata.Deleted);
            writer.WriteNumber("forgotten_before"u8, metadata.ForgottenBefore);
            writer.WriteNumber("next_version"u8, metadata.Count);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
