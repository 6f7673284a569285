using System.Text;
using System.Text.Json;
using EventflowDb.Client;
using NUlid;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>One exported event read back for import: its stream and the event to ADD, with its message id.</summary>
/// <param name="Stream">The stream.</param>
/// <param name="Event">The event to ADD.</param>
/// <param name="Bytes">The line's length in bytes.</param>
/// <param name="Forgotten">
/// The line is a forgotten event (<c>"forgotten":true</c>, its data and metadata null): <see cref="Event"/> then carries
/// <see cref="ForgottenPlaceholder"/> as data and no metadata, and the importer FORGETs the stream after it.
/// </param>
/// <param name="Version">The event's version in the exported store (-1 when the line has none).</param>
public sealed record ImportLine(string Stream, EventData Event, int Bytes, bool Forgotten = false, long Version = -1)
{
    /// <summary>The data a forgotten event is added with (ADD needs data) before FORGET hides it: nothing of the original.</summary>
    public static ReadOnlyMemory<byte> ForgottenPlaceholder { get; } = "{}"u8.ToArray();

    /// <summary>
    /// Parses one JSON line of <c>efdb export</c> (the event JSON): <c>stream</c>, <c>type</c>, <c>data</c> are required;
    /// <c>metadata</c>, <c>causation_id</c> and <c>correlation_id</c> are kept; the message id is <c>message_id</c>, or the
    /// event's <c>id</c> when it has none, so that importing the same lines again stores nothing. A forgotten event
    /// (<c>"forgotten":true</c>) keeps its type, ids and message id; its null data becomes <see cref="ForgottenPlaceholder"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The line is not such an event.</exception>
    public static ImportLine Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("not a JSON object");
            }

            string stream = Text(root, "stream") ?? throw new InvalidDataException("no \"stream\"");
            string type = Text(root, "type") ?? throw new InvalidDataException("no \"type\"");
            if (!root.TryGetProperty("data", out var data))
            {
                throw new InvalidDataException("no \"data\"");
            }

            string messageId = Text(root, "message_id") ?? Text(root, "id") ?? throw new InvalidDataException("neither \"message_id\" nor \"id\"");
            bool forgotten = root.TryGetProperty("forgotten", out var flag) && flag.ValueKind == JsonValueKind.True;
            long version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : -1;
            var e = new EventData(type, forgotten ? ForgottenPlaceholder : Encoding.UTF8.GetBytes(data.GetRawText()))
            {
                MessageId = messageId,
                Metadata = !forgotten && root.TryGetProperty("metadata", out var metadata) ? new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(metadata.GetRawText())) : (ReadOnlyMemory<byte>?)null,
                CausationId = Id(root, "causation_id"),
                CorrelationId = Id(root, "correlation_id"),
            };
            return new ImportLine(stream, e, Encoding.UTF8.GetByteCount(line), forgotten, version);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : throw new InvalidDataException($"\"{name}\" is not a string") : null;

    private static Ulid? Id(JsonElement root, string name) =>
        Text(root, name) is { } text ? Ulid.TryParse(text, out var id) ? id : throw new InvalidDataException($"\"{name}\" is not an event id") : null;
}
