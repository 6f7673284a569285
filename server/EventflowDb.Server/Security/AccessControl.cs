using System.Collections.Immutable;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Configuration;

namespace EventflowDb.Server.Security;

/// <summary>
/// The users (Redis ACL subset, SPEC "TLS and users"): who may authenticate with which password, run which commands
/// and read or write which streams. Changes are serialised; lookups read an immutable snapshot, without a lock.
/// The user <c>default</c> always exists: <c>--password</c> sets its password, without one it needs none and new
/// connections start authenticated as it. A user of the <c>--aclfile</c> (default included) replaces the built-in one.
/// </summary>
internal sealed class AccessControl
{
    private readonly Lock _changes = new();
    private readonly AclRuleParser _parser;
    private readonly AclRules _builtInDefault;
    private ImmutableSortedDictionary<string, AclUser> _users;

    public AccessControl(ServerOptions options, CommandTable commands)
    {
        _parser = new AclRuleParser(commands);
        FilePath = options.AclFile;
        _builtInDefault = _parser.Apply(
            AclRules.Empty,
            options.Password is null ? ["on", "nopass", "allstreams", "allcommands"] : ["on", ">" + options.Password, "allstreams", "allcommands"]);
        _users = ImmutableSortedDictionary.Create<string, AclUser>(StringComparer.Ordinal)
            .Add(AclUser.DefaultName, new AclUser(AclUser.DefaultName, _builtInDefault));
        if (FilePath is not null && File.Exists(FilePath))
        {
            Replace(AclFile.Read(FilePath, _parser));
        }
    }

    /// <summary>The <c>--aclfile</c>, or null.</summary>
    public string? FilePath { get; }

    public AclLog Log { get; } = new();

    public AclRuleParser Parser => _parser;

    public AclUser Default => _users[AclUser.DefaultName];

    public IEnumerable<AclUser> Users => _users.Values;

    /// <summary>True when a connection must authenticate before anything else: <c>default</c> is off or has a password.</summary>
    public bool AuthenticationRequired => Default.Rules is not { Enabled: true, NoPass: true };

    public AclUser? Find(string name) => _users.GetValueOrDefault(name);

    /// <summary>The user whose name and password these are, if it is on; null otherwise (the password is hashed either way).</summary>
    public AclUser? Authenticate(string name, ReadOnlySpan<byte> password)
    {
        var user = Find(name);
        var rules = user?.Rules ?? AclRules.Empty;
        bool passwordOk = PasswordHash.Matches(password, rules.Passwords) || rules.NoPass;
        return user is not null && rules.Enabled && passwordOk ? user : null;
    }

    /// <summary>ACL SETUSER: applies the rules to the user, created (off, no rights) when missing. All rules apply or none.</summary>
    public void SetUser(string name, IReadOnlyList<string> rules)
    {
        if (!IsValidUserName(name))
        {
            throw new AclRuleException("Usernames can't contain spaces or null characters");
        }

        lock (_changes)
        {
            if (_users.TryGetValue(name, out var user))
            {
                user.Rules = _parser.Apply(user.Rules, rules);
            }
            else
            {
                _users = _users.Add(name, new AclUser(name, _parser.Apply(AclRules.Empty, rules)));
            }
        }
    }

    /// <summary>ACL DELUSER: the users removed (their sessions must be closed). <c>default</c> cannot be removed.</summary>
    public IReadOnlyList<AclUser> DeleteUsers(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Contains(AclUser.DefaultName))
        {
            throw new AclRuleException("The 'default' user cannot be removed");
        }

        lock (_changes)
        {
            var removed = list.Distinct().Select(Find).OfType<AclUser>().ToList();
            _users = _users.RemoveRange(removed.Select(u => u.Name));
            return removed;
        }
    }

    /// <summary>ACL LOAD: the file's users replace every user (all or nothing); returns the users that no longer exist.</summary>
    public IReadOnlyList<AclUser> LoadFile()
    {
        string path = FilePath ?? throw NoFile();
        var loaded = AclFile.Read(path, _parser);
        lock (_changes)
        {
            return Replace(loaded);
        }
    }

    /// <summary>ACL SAVE: writes every user to the file (passwords as SHA-256).</summary>
    public void SaveFile()
    {
        string path = FilePath ?? throw NoFile();
        lock (_changes)
        {
            AclFile.Write(path, _users.Values);
        }
    }

    private List<AclUser> Replace(List<AclUser> loaded)
    {
        if (loaded.All(u => u.Name != AclUser.DefaultName))
        {
            loaded.Add(new AclUser(AclUser.DefaultName, _builtInDefault));
        }

        // A user that stays keeps its object, so its sessions go on with the new rules.
        var next = ImmutableSortedDictionary.CreateBuilder<string, AclUser>(StringComparer.Ordinal);
        foreach (var user in loaded)
        {
            if (_users.TryGetValue(user.Name, out var existing))
            {
                existing.Rules = user.Rules;
                next.Add(user.Name, existing);
            }
            else
            {
                next.Add(user.Name, user);
            }
        }

        var gone = _users.Values.Where(u => !next.ContainsKey(u.Name)).ToList();
        _users = next.ToImmutable();
        return gone;
    }

    public static bool IsValidUserName(string name) =>
        name.Length is > 0 and <= 256 && !name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    private static AclRuleException NoFile() =>
        new("This instance is not configured to use an ACL file. Start the server with --aclfile <path> to keep users in a file.");
}
