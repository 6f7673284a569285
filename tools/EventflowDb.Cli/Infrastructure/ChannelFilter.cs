using System.Text;
using System.Text.Json;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>A channel (<c>$all</c>, <c>stream:&lt;name&gt;</c>, <c>category:&lt;category&gt;</c>, <c>type:&lt;type&gt;</c>) as a filter over events.</summary>
public sealed class ChannelFilter
{
    private readonly Kind _kind;
    private readonly byte[] _name;

    private ChannelFilter(Kind kind, string name)
    {
        _kind = kind;
        _name = Encoding.UTF8.GetBytes(name);
    }

    private enum Kind
    {
        All,
        Stream,
        Category,
        Type,
    }

    /// <summary>True for <c>$all</c>.</summary>
    public bool IsAll => _kind == Kind.All;

    /// <summary>Parses a channel; null when it is none of the four forms.</summary>
    public static ChannelFilter? Parse(string channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel == "$all")
        {
            return new ChannelFilter(Kind.All, "");
        }

        int colon = channel.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == channel.Length - 1)
        {
            return null;
        }

        string name = channel[(colon + 1)..];
        return channel[..colon] switch
        {
            "stream" => new ChannelFilter(Kind.Stream, name),
            "category" => new ChannelFilter(Kind.Category, name),
            "type" => new ChannelFilter(Kind.Type, name),
            _ => null,
        };
    }

    /// <summary>True when the event (its stream name and its JSON) is on this channel.</summary>
    public bool Matches(ReadOnlySpan<byte> stream, ReadOnlySpan<byte> json) => _kind switch
    {
        Kind.All => true,
        Kind.Stream => stream.SequenceEqual(_name),
        Kind.Category => (stream.IndexOf((byte)'-') is var dash and >= 0 ? stream[..dash] : stream).SequenceEqual(_name),
        Kind.Type => TypeOf(json) is { } type && type.AsSpan().SequenceEqual(_name),
        _ => false,
    };

    /// <summary>True when the event JSON is on this channel.</summary>
    public bool Matches(ReadOnlySpan<byte> json) => _kind == Kind.All || Matches(Field(json, "stream"u8) ?? [], json);

    private static byte[]? TypeOf(ReadOnlySpan<byte> json) => Field(json, "type"u8);

    /// <summary>The UTF-8 value of a top-level string field of an event's JSON, or null.</summary>
    private static byte[]? Field(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool wanted = reader.ValueTextEquals(name);
            reader.Read();
            if (wanted)
            {
                return reader.TokenType == JsonTokenType.String ? Encoding.UTF8.GetBytes(reader.GetString()!) : null;
            }

            reader.Skip();
        }

        return null;
    }
}
