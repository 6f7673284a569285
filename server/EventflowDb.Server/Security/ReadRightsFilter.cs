using EventflowDb.Storage;

namespace EventflowDb.Server.Security;

/// <summary>
/// Passes only events of streams the user may read, checked against the user's rules of the moment, so an
/// <c>ACL SETUSER</c> that narrows a user also narrows its running subscriptions and long polls.
/// </summary>
internal sealed class ReadRightsFilter(AclUser user, IEventFilter inner) : IEventFilter
{
    public bool Matches(ReadOnlySpan<byte> streamUtf8, ReadOnlySpan<byte> eventJson)
    {
        var rules = user.Rules;
        return inner.Matches(streamUtf8, eventJson)
            && (rules.ReadsAllStreams || rules.CanRead(System.Text.Encoding.UTF8.GetString(streamUtf8)));
    }

    /// <summary>A subscription's filter: checked against the user's rules at each event (null: a channel that carries none).</summary>
    public static IEventFilter? Live(AclUser user, IEventFilter? inner) => inner is null ? null : new ReadRightsFilter(user, inner);

    /// <summary>One read's filter: <paramref name="inner"/> itself (null: every event) for a user who reads every stream.</summary>
    public static IEventFilter? OneRead(AclUser user, IEventFilter? inner) =>
        user.Rules.ReadsAllStreams ? inner : new ReadRightsFilter(user, inner ?? Subscriptions.ChannelFilter.Everything);
}
