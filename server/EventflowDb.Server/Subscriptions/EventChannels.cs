using System.Text;
using System.Text.Json;
using EventflowDb.Storage;

namespace EventflowDb.Server.Subscriptions;

/// <summary>
/// The channel names an event is published on: <c>$all</c>, <c>stream:&lt;name&gt;</c>,
/// <c>category:&lt;name up to the first '-'&gt;</c> and <c>type:&lt;event type&gt;</c>.
/// </summary>
internal static class EventChannels
{
    public const string All = "$all";

    /// <summary>The filter for one channel name, or null when the name is none of the four forms (it then never receives anything).</summary>
    public static IEventFilter? ForChannel(string channel)
    {
        if (channel == All)
        {
            return ChannelFilter.Everything;
        }

        return channel switch
        {
            _ when channel.StartsWith("stream:", StringComparison.Ordinal) => new ChannelFilter(ChannelKind.Stream, channel["stream:".Length..]),
            _ when channel.StartsWith("category:", StringComparison.Ordinal) => new ChannelFilter(ChannelKind.Category, channel["category:".Length..]),
            _ when channel.StartsWith("type:", StringComparison.Ordinal) => new ChannelFilter(ChannelKind.Type, channel["type:".Length..]),
            _ => null,
        };
    }

    /// <summary>
    /// The filter for a channel that FOLLOW, GETALL ... CHANNEL and GROUP CREATE may name: one of the four forms with a
    /// non-empty name. Anything else is refused (INVALID) instead of becoming a subscription or a group that can
    /// never receive an event. SUBSCRIBE keeps <see cref="ForChannel"/>, since Redis clients subscribe to their own names.
    /// </summary>
    public static IEventFilter Parse(string channel)
    {
        int colon = channel.IndexOf(':', StringComparison.Ordinal);
        bool named = colon > 0 && colon < channel.Length - 1;
        return (channel == All || named ? ForChannel(channel) : null)
            ?? throw Commands.CommandException.Invalid($"unknown channel '{Commands.ErrorText.Excerpt(channel)}'");
    }

    /// <summary>The category of a stream: its name up to the first '-' (all of it when there is none).</summary>
    public static ReadOnlySpan<byte> Category(ReadOnlySpan<byte> stream)
    {
        int dash = stream.IndexOf((byte)'-');
        return dash < 0 ? stream : stream[..dash];
    }

    /// <summary>Reads the stream and type of a stored event's JSON.</summary>
    public static (string Stream, string Type) StreamAndType(ReadOnlySpan<byte> eventJson)
    {
        var reader = new Utf8JsonReader(eventJson);
        string stream = string.Empty;
        string type = string.Empty;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                bool isStream = reader.ValueTextEquals("stream"u8);
                bool isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isStream)
                {
                    stream = reader.GetString() ?? string.Empty;
                }
                else if (isType)
                {
                    // The type follows the stream in the stored field order; nothing after it is needed.
                    type = reader.GetString() ?? string.Empty;
                    break;
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        return (stream, type);
    }

    /// <summary>The four channel names of an event.</summary>
    public static string[] Of(ReadOnlySpan<byte> eventJson)
    {
        var (stream, type) = StreamAndType(eventJson);
        int dash = stream.IndexOf('-', StringComparison.Ordinal);
        string category = dash < 0 ? stream : stream[..dash];
        return [All, "stream:" + stream, "category:" + category, "type:" + type];
    }

    /// <summary>True when the type field of a stored event's JSON equals <paramref name="typeUtf8"/>.</summary>
    public static bool TypeEquals(ReadOnlySpan<byte> eventJson, ReadOnlySpan<byte> typeUtf8)
    {
        var reader = new Utf8JsonReader(eventJson);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                bool isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType)
                {
                    return reader.ValueTextEquals(typeUtf8);
                }

                reader.Skip();
            }
        }

        return false;
    }

    internal static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
