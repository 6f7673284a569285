namespace EventflowDb.Client;

/// <summary>
/// Names of the server's channels, the subsets of the global log that <see cref="EventflowDbClient.SubscribeAsync"/> follows.
/// Every event is on four channels: <see cref="All"/>, its stream's, its category's and its type's.
/// </summary>
public static class Channels
{
    /// <summary><c>$all</c>: every event of every stream.</summary>
    public const string All = "$all";

    /// <summary><c>stream:&lt;name&gt;</c>: the events of one stream.</summary>
    /// <param name="name">The stream name.</param>
    /// <returns>The channel name.</returns>
    public static string Stream(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return "stream:" + name;
    }

    /// <summary><c>category:&lt;category&gt;</c>: the events of every stream whose name, up to the first <c>-</c> (all of it when there is none), is <paramref name="category"/>.</summary>
    /// <param name="category">The category, e.g. <c>order</c> for the streams <c>order-1</c>, <c>order-2</c>, ...</param>
    /// <returns>The channel name.</returns>
    public static string Category(string category)
    {
        ArgumentException.ThrowIfNullOrEmpty(category);
        return "category:" + category;
    }

    /// <summary><c>type:&lt;event type&gt;</c>: the events of one type, in every stream.</summary>
    /// <param name="eventType">The event type.</param>
    /// <returns>The channel name.</returns>
    public static string Type(string eventType)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        return "type:" + eventType;
    }

    /// <summary>The test for membership in <paramref name="channel"/>, or null when the name is not a channel.</summary>
    internal static Func<RecordedEvent, bool>? Filter(string channel)
    {
        if (channel == All)
        {
            return static _ => true;
        }

        int colon = channel.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == channel.Length - 1)
        {
            return null;
        }

        string value = channel[(colon + 1)..];
        return channel[..colon] switch
        {
            "stream" => e => e.Stream == value,
            "category" => e => CategoryOf(e.Stream) == value,
            "type" => e => e.Type == value,
            _ => null,
        };
    }

    private static ReadOnlySpan<char> CategoryOf(string stream)
    {
        int dash = stream.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? stream : stream.AsSpan(0, dash);
    }
}
