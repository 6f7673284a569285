using EventflowDb.Server.Commands;

namespace EventflowDb.Server.Security;

/// <summary>
/// The stream checks of commands (the command itself was allowed by the session's refusal gate): a refusal is
/// <c>-NOPERM No permissions to access a stream</c> and an <c>ACL LOG</c> entry. A user who reads or writes every
/// stream passes on one flag.
/// </summary>
internal static class StreamPermissions
{
    public const string Refused = "NOPERM No permissions to access a stream";

    public static void CheckWrite(IAclSubject session, string stream)
    {
        var rules = session.User.Rules;
        if (!rules.WritesAllStreams && !rules.CanWrite(stream))
        {
            throw Refuse(session, stream);
        }
    }

    public static void CheckRead(IAclSubject session, ReadOnlySpan<byte> stream)
    {
        if (!session.User.Rules.ReadsAllStreams)
        {
            CheckRead(session, System.Text.Encoding.UTF8.GetString(stream));
        }
    }

    public static void CheckRead(IAclSubject session, string stream)
    {
        var rules = session.User.Rules;
        if (!rules.ReadsAllStreams && !rules.CanRead(stream))
        {
            throw Refuse(session, stream);
        }
    }

    /// <summary>A read of a channel (<c>$all</c> when null): refused unless the user's read patterns cover every event it can carry.</summary>
    public static void CheckChannel(IAclSubject session, string? channel)
    {
        var rules = session.User.Rules;
        if (!rules.ReadsAllStreams && !rules.CoversChannel(channel ?? Subscriptions.EventChannels.All))
        {
            throw Refuse(session, channel ?? Subscriptions.EventChannels.All);
        }
    }

    public static void CheckPattern(IAclSubject session, string pattern)
    {
        var rules = session.User.Rules;
        if (!rules.ReadsAllStreams && !rules.CoversPattern(pattern))
        {
            throw Refuse(session, pattern);
        }
    }

    /// <summary>LISTSTREAMS names every stream and SEED copies every stream: they need read rights on all of them.</summary>
    public static void CheckReadsAll(IAclSubject session, string what)
    {
        if (!session.User.Rules.ReadsAllStreams)
        {
            throw Refuse(session, what);
        }
    }

    private static CommandException Refuse(IAclSubject session, string objectName)
    {
        session.RecordRefusal(AclLogReason.Stream, objectName);
        return new CommandException(Refused);
    }
}
