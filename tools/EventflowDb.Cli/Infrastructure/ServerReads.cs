using System.Buffers;
using System.Text.Json;
using NUlid;
using StackExchange.Redis;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>Raw reads that keep each event's JSON byte for byte as the server stored it.</summary>
public static class ServerReads
{
    /// <summary>One GETALL page: the events after <paramref name="after"/>, on <paramref name="channel"/> (null: all), waiting up to <paramref name="blockMs"/> when none.</summary>
    public static async Task<IReadOnlyList<byte[]>> GetAllAsync(IDatabase database, Ulid after, int limit, string? channel, int? blockMs, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("offset"u8, after.ToString());
            writer.WriteNumber("limit"u8, limit);
            if (channel is not null)
            {
                writer.WriteString("channel"u8, channel);
            }

            if (blockMs is { } block)
            {
                writer.WriteNumber("block"u8, block);
            }

            writer.WriteEndObject();
        }

        var reply = await database.ExecuteAsync("GETALL", buffer.WrittenSpan.ToArray()).WaitAsync(cancellationToken).ConfigureAwait(false);
        var items = (RedisValue[]?)reply ?? [];
        var page = new byte[items.Length][];
        for (int i = 0; i < items.Length; i++)
        {
            page[i] = (byte[]?)items[i] ?? [];
        }

        return page;
    }

    /// <summary>The <c>id</c> of an event's JSON.</summary>
    public static Ulid IdOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.String && Ulid.TryParse(reader.GetString(), out var id))
                {
                    return id;
                }

                reader.Skip();
            }
        }

        throw new InvalidDataException("the server sent an event without an id");
    }
}
