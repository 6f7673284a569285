using EventflowDb.Storage;

namespace EventflowDb.Server.Subscriptions;

internal enum ChannelKind
{
    All,
    Stream,
    Category,
    Type,
}

/// <summary>Accepts the events published on one channel (<see cref="EventChannels"/>).</summary>
internal sealed class ChannelFilter(ChannelKind kind, string value) : IEventFilter
{
    public static readonly ChannelFilter Everything = new(ChannelKind.All, string.Empty);

    private readonly byte[] _value = EventChannels.Utf8(value);

    public bool Matches(ReadOnlySpan<byte> streamUtf8, ReadOnlySpan<byte> eventJson) => kind switch
    {
        ChannelKind.All => true,
        ChannelKind.Stream => streamUtf8.SequenceEqual(_value),
        ChannelKind.Category => EventChannels.Category(streamUtf8).SequenceEqual(_value),
        _ => EventChannels.TypeEquals(eventJson, _value),
    };
}

/// <summary>Accepts the events published on at least one channel whose name matches a glob pattern (PSUBSCRIBE).</summary>
internal sealed class PatternFilter(string pattern) : IEventFilter
{
    public bool Matches(ReadOnlySpan<byte> streamUtf8, ReadOnlySpan<byte> eventJson)
    {
        foreach (string channel in EventChannels.Of(eventJson))
        {
            if (Commands.GlobPattern.IsMatch(pattern, channel))
            {
                return true;
            }
        }

        return false;
    }
}
