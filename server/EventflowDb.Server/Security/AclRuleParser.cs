using System.Collections.Immutable;
using EventflowDb.Server.Commands;

namespace EventflowDb.Server.Security;

/// <summary>A rule of ACL SETUSER (or of an ACL file line) that cannot be applied; the message is Redis's.</summary>
internal sealed class AclRuleException(string message) : Exception(message);

/// <summary>
/// Applies ACL SETUSER rules, in order, to a user's rules (Redis syntax, the subset of SPEC "TLS and users"):
/// <c>on off &gt;pw &lt;pw #sha256 !sha256 nopass resetpass ~p %R~p %W~p %RW~p allstreams resetstreams
/// +@cat -@cat +cmd -cmd allcommands nocommands reset</c>; <c>allkeys</c>/<c>resetkeys</c> are accepted as Redis's names.
/// </summary>
internal sealed class AclRuleParser(CommandTable commands)
{
    public AclRules Apply(AclRules rules, IEnumerable<string> tokens)
    {
        var state = new Builder(rules);
        foreach (string token in tokens)
        {
            ApplyOne(state, token);
        }

        return state.Build();
    }

    private void ApplyOne(Builder state, string token)
    {
        switch (token.ToLowerInvariant())
        {
            case "on":
                state.Enabled = true;
                return;
            case "off":
                state.Enabled = false;
                return;
            case "nopass":
                state.NoPass = true;
                state.Passwords.Clear();
                return;
            case "resetpass":
                state.NoPass = false;
                state.Passwords.Clear();
                return;
            case "allstreams" or "allkeys":
                state.Streams.Clear();
                state.Streams.Add(new StreamRule(StreamAccess.ReadWrite, "*"));
                return;
            case "resetstreams" or "resetkeys":
                state.Streams.Clear();
                return;
            case "allcommands":
                SetAll(state, allow: true);
                return;
            case "nocommands":
                SetAll(state, allow: false);
                return;
            case "reset":
                state.Enabled = false;
                state.NoPass = false;
                state.Passwords.Clear();
                state.Streams.Clear();
                state.Commands.Clear();
                return;
        }

        if (token.Length == 0)
        {
            throw Error(token, "Syntax error");
        }

        switch (token[0])
        {
            case '>':
                AddPassword(state, PasswordHash.Of(token[1..]));
                return;
            case '<':
                RemovePassword(state, PasswordHash.Of(token[1..]), token);
                return;
            case '#':
                AddPassword(state, PasswordHash.FromHex(token[1..]) ?? throw Error(token, "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"));
                return;
            case '!':
                RemovePassword(state, PasswordHash.FromHex(token[1..]) ?? throw Error(token, "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"), token);
                return;
            case '~':
                AddStream(state, StreamAccess.ReadWrite, token[1..], token);
                return;
            case '%':
                AddStream(state, token);
                return;
            case '+' or '-':
                AddCommandRule(state, token);
                return;
            default:
                throw Error(token, "Syntax error");
        }
    }

    private static void AddPassword(Builder state, byte[] hash)
    {
        state.NoPass = false;
        if (!state.Passwords.Any(h => h.AsSpan().SequenceEqual(hash)))
        {
            state.Passwords.Add(hash);
        }
    }

    private static void RemovePassword(Builder state, byte[] hash, string token)
    {
        int removed = state.Passwords.RemoveAll(h => h.AsSpan().SequenceEqual(hash));
        if (removed == 0)
        {
            throw Error(token, "no such password");
        }

        state.NoPass = false;
    }

    /// <summary><c>%R~p</c>, <c>%W~p</c>, <c>%RW~p</c>.</summary>
    private static void AddStream(Builder state, string token)
    {
        int tilde = token.IndexOf('~', StringComparison.Ordinal);
        string flags = tilde > 1 ? token[1..tilde].ToUpperInvariant() : "";
        var access = flags switch
        {
            "R" => StreamAccess.Read,
            "W" => StreamAccess.Write,
            "RW" or "WR" => StreamAccess.ReadWrite,
            _ => throw Error(token, "Syntax error"),
        };
        AddStream(state, access, token[(tilde + 1)..], token);
    }

    private static void AddStream(Builder state, StreamAccess access, string pattern, string token)
    {
        if (pattern.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(pattern) > GlobPattern.MaxPatternBytes)
        {
            throw Error(token, "Syntax error");
        }

        var rule = new StreamRule(access, pattern);
        if (!state.Streams.Contains(rule))
        {
            state.Streams.Add(rule);
        }
    }

    private void AddCommandRule(Builder state, string token)
    {
        bool allow = token[0] == '+';
        string name = token[1..];
        if (name.StartsWith('@'))
        {
            string category = name[1..];
            if (string.Equals(category, "all", StringComparison.OrdinalIgnoreCase))
            {
                SetAll(state, allow);
                return;
            }

            var found = AclCategories.Find(category) ?? throw Error(token, "Unknown command or category name in ACL");
            state.Commands.Add(new CommandRule(allow, All: false, found, null));
            return;
        }

        if (name.Contains('|', StringComparison.Ordinal))
        {
            throw Error(token, "Allowing or blocking single subcommands is not supported; use categories");
        }

        var command = commands.Find(name) ?? throw Error(token, "Unknown command or category name in ACL");
        state.Commands.Add(new CommandRule(allow, All: false, AclCategory.None, command));
    }

    /// <summary><c>±@all</c> decides every command, so the rules before it no longer matter (Redis drops them too).</summary>
    private static void SetAll(Builder state, bool allow)
    {
        state.Commands.Clear();
        state.Commands.Add(new CommandRule(allow, All: true, AclCategory.None, null));
    }

    private static AclRuleException Error(string token, string reason) =>
        new($"Error in ACL SETUSER modifier '{ErrorText.Excerpt(token)}': {reason}");

    private sealed class Builder(AclRules rules)
    {
        public bool Enabled { get; set; } = rules.Enabled;

        public bool NoPass { get; set; } = rules.NoPass;

        public List<byte[]> Passwords { get; } = [.. rules.Passwords];

        public List<StreamRule> Streams { get; } = [.. rules.Streams];

        public List<CommandRule> Commands { get; } = [.. rules.Commands];

        public AclRules Build() => new(Enabled, NoPass, [.. Passwords], [.. Streams], [.. Commands]);
    }
}
