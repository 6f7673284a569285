namespace EventflowDb.Server.Security;

/// <summary>The command categories of <c>ACL SETUSER +@category</c> (SPEC "TLS and users").</summary>
[Flags]
internal enum AclCategory
{
    None = 0,

    /// <summary>Reads events: GET, GETALL, LISTSTREAMS, FOLLOW, the counters, CHECKSUM, SIZE.</summary>
    Read = 1,

    /// <summary>Changes streams: ADD.</summary>
    Write = 2,

    /// <summary>Push subscriptions: SUBSCRIBE, PSUBSCRIBE, their UN- forms, FOLLOW.</summary>
    PubSub = 4,

    /// <summary>Consumer groups: GROUP.</summary>
    Group = 8,

    /// <summary>Administration: ACL (but WHOAMI and CAT), CONFIG, CLIENT LIST.</summary>
    Admin = 16,

    /// <summary>The connection itself: AUTH, HELLO, PING, QUIT, ECHO, SELECT, CLIENT, INFO, COMMAND, TIME, ...</summary>
    Connection = 32,
}

/// <summary>Category names as ACL rules and <c>ACL CAT</c> spell them.</summary>
internal static class AclCategories
{
    public static readonly IReadOnlyList<(string Name, AclCategory Category)> Named =
    [
        ("read", AclCategory.Read),
        ("write", AclCategory.Write),
        ("pubsub", AclCategory.PubSub),
        ("group", AclCategory.Group),
        ("admin", AclCategory.Admin),
        ("connection", AclCategory.Connection),
    ];

    /// <summary>The category called <paramref name="name"/> (case-insensitive), or null; <c>all</c> is handled by the rules.</summary>
    public static AclCategory? Find(string name)
    {
        foreach (var (n, c) in Named)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                return c;
            }
        }

        return null;
    }
}
