using System.Text.Json;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Groups;

/// <summary>
/// Reads one event by id with the log-order read (the first event after the id's predecessor). Only that event is examined
/// (maxScanned 1): a hidden or missing target never turns into a scan of the rest of the log.
/// </summary>
internal static class EventLookup
{
    public static async ValueTask<byte[]?> ReadAsync(IEventStore store, Ulid id, EventPage page)
    {
        page.Clear();
        if (id == Ulid.Empty)
        {
            return null;
        }

        var progress = await store.ReadAllAsync(Predecessor(id), 1, page, filter: null, maxScanned: 1).ConfigureAwait(false);
        return progress.Count == 1 && IdOf(page[0]) == id ? page[0].ToArray() : null;
    }

    /// <summary>The ULID one below <paramref name="id"/> (ULIDs compare as 128-bit big-endian numbers).</summary>
    public static Ulid Predecessor(Ulid id)
    {
        byte[] bytes = id.ToByteArray();
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i]-- != 0)
            {
                break;
            }
        }

        return new Ulid(bytes);
    }

    /// <summary>The top-level <c>"id"</c> of an event's JSON.</summary>
    public static Ulid IdOf(ReadOnlySpan<byte> eventJson)
    {
        var reader = new Utf8JsonReader(eventJson);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isId = reader.ValueTextEquals("id"u8);
            reader.Read();
            if (isId)
            {
                return Ulid.Parse(reader.GetString());
            }

            reader.Skip();
        }

        throw new InvalidDataException("event JSON has no id");
    }
}
