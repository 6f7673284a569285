using System.Collections.Immutable;
using System.Text;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Subscriptions;

namespace EventflowDb.Server.Security;

/// <summary>
/// What one user may do, immutable: a change (<c>ACL SETUSER</c>) builds new rules and swaps them in, so a check
/// never sees half of a change. The common case, a user with every right, is answered by two flags.
/// </summary>
internal sealed class AclRules
{
    /// <summary>A new user: off, no password, no command, no stream (as Redis).</summary>
    public static readonly AclRules Empty = new(false, false, [], [], []);

    public AclRules(bool enabled, bool noPass, ImmutableArray<byte[]> passwords, ImmutableArray<StreamRule> streams, ImmutableArray<CommandRule> commands)
    {
        Enabled = enabled;
        NoPass = noPass;
        Passwords = passwords;
        Streams = streams;
        Commands = commands;
        ReadsAllStreams = streams.Any(r => r.Reads && r.IsEverything);
        WritesAllStreams = streams.Any(r => r.Writes && r.IsEverything);

        // +@all (or allcommands) with no - rule after it allows every command, whatever its categories.
        RunsAllCommands = commands.Length > 0 && commands.Reverse().TakeWhile(r => r.Allow).Any(r => r.All);
    }

    public bool Enabled { get; }

    public bool NoPass { get; }

    public ImmutableArray<byte[]> Passwords { get; }

    public ImmutableArray<StreamRule> Streams { get; }

    public ImmutableArray<CommandRule> Commands { get; }

    public bool ReadsAllStreams { get; }

    public bool WritesAllStreams { get; }

    public bool RunsAllCommands { get; }

    /// <summary>True when the user may run <paramref name="command"/> invoked with these <paramref name="categories"/>: the last matching rule decides.</summary>
    /// <remarks>
    /// Commands of <c>@connection</c> alone (PING, ECHO, HELLO, INFO, CLIENT SETNAME, ...) are open to every user whatever
    /// the rules: stock clients need them to connect (StackExchange.Redis fails without ECHO), and they touch no stream.
    /// </remarks>
    public bool CanRun(Command command, AclCategory categories)
    {
        if (RunsAllCommands || categories == AclCategory.Connection)
        {
            return true;
        }

        bool allowed = false;
        foreach (var rule in Commands)
        {
            if (rule.Matches(command, categories))
            {
                allowed = rule.Allow;
            }
        }

        return allowed;
    }

    public bool CanRead(string stream) => ReadsAllStreams || MatchesAny(stream, StreamAccess.Read);

    public bool CanWrite(string stream) => WritesAllStreams || MatchesAny(stream, StreamAccess.Write);

    private bool MatchesAny(string stream, StreamAccess access)
    {
        foreach (var rule in Streams)
        {
            if ((rule.Access & access) != 0 && GlobPattern.IsMatch(rule.Pattern, stream))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when every event the channel can carry lies in streams the user reads (SPEC: <c>$all</c> and <c>type:</c> need
    /// every stream; <c>~account-*</c> covers <c>category:account</c>). A name that is none of the channel forms carries
    /// no events, so it is covered.
    /// </summary>
    public bool CoversChannel(string channel)
    {
        if (ReadsAllStreams)
        {
            return true;
        }

        if (channel.StartsWith("stream:", StringComparison.Ordinal))
        {
            return CanRead(channel["stream:".Length..]);
        }

        if (channel.StartsWith("category:", StringComparison.Ordinal))
        {
            string streamPrefix = channel["category:".Length..] + "-";
            return Streams.Any(r => r.Reads && IsPrefixPattern(r.Pattern, out string prefix) && streamPrefix.StartsWith(prefix, StringComparison.Ordinal));
        }

        return EventChannels.ForChannel(channel) is null;
    }

    /// <summary>
    /// A PSUBSCRIBE pattern is covered when it names channels only, with no wildcard (then as <see cref="CoversChannel"/>),
    /// or when it is <c>stream:&lt;p&gt;</c> with <c>&lt;p&gt;</c> one of the user's read patterns. Anything else could
    /// match <c>$all</c> or a foreign stream, and deciding more in general is not worth the risk.
    /// </summary>
    public bool CoversPattern(string pattern)
    {
        if (ReadsAllStreams)
        {
            return true;
        }

        if (!HasWildcard(pattern))
        {
            return CoversChannel(pattern);
        }

        return pattern.StartsWith("stream:", StringComparison.Ordinal)
            && Streams.Any(r => r.Reads && r.Pattern == pattern["stream:".Length..]);
    }

    private static bool IsPrefixPattern(string pattern, out string prefix)
    {
        prefix = pattern.Length > 0 ? pattern[..^1] : "";
        return pattern.EndsWith('*') && !HasWildcard(prefix);
    }

    private static bool HasWildcard(string pattern) => pattern.AsSpan().IndexOfAny("*?[\\") >= 0;

    /// <summary>The rules in <c>ACL LIST</c> form, without the <c>user &lt;name&gt;</c> head.</summary>
    public string Describe()
    {
        var text = new StringBuilder(Enabled ? "on" : "off");
        if (NoPass)
        {
            text.Append(" nopass");
        }

        foreach (var hash in Passwords)
        {
            text.Append(" #").Append(PasswordHash.Hex(hash));
        }

        if (Streams.IsEmpty)
        {
            text.Append(" resetstreams");
        }

        foreach (var rule in Streams)
        {
            text.Append(' ').Append(rule);
        }

        if (Commands.IsEmpty)
        {
            text.Append(" -@all");
        }

        foreach (var rule in Commands)
        {
            text.Append(' ').Append(rule);
        }

        return text.ToString();
    }

    /// <summary>The command rules as ACL GETUSER shows them.</summary>
    public string DescribeCommands() => Commands.IsEmpty ? "-@all" : string.Join(' ', Commands);

    /// <summary>The stream rules as ACL GETUSER shows them (its <c>keys</c> field).</summary>
    public string DescribeStreams() => string.Join(' ', Streams);
}
