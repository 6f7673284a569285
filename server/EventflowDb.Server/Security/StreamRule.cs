namespace EventflowDb.Server.Security;

/// <summary>Which use of a stream a pattern grants.</summary>
[Flags]
internal enum StreamAccess
{
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>One stream rule of a user: <c>~pattern</c> (read and write), <c>%R~pattern</c> or <c>%W~pattern</c>.</summary>
internal sealed record StreamRule(StreamAccess Access, string Pattern)
{
    public bool Reads => (Access & StreamAccess.Read) != 0;

    public bool Writes => (Access & StreamAccess.Write) != 0;

    public bool IsEverything => Pattern == "*";

    public override string ToString() => Access switch
    {
        StreamAccess.Read => "%R~" + Pattern,
        StreamAccess.Write => "%W~" + Pattern,
        _ => "~" + Pattern,
    };
}

/// <summary>One command rule of a user, in the order given: <c>+@category</c>, <c>-@category</c>, <c>+command</c>, <c>-command</c>, <c>±@all</c>.</summary>
internal sealed record CommandRule(bool Allow, bool All, AclCategory Category, Commands.Command? Command)
{
    public bool Matches(Commands.Command command, AclCategory categories) =>
        All || (Category & categories) != 0 || ReferenceEquals(Command, command);

    public override string ToString() =>
        (Allow ? "+" : "-") + (All ? "@all" : Command is not null ? Command.Name.ToLowerInvariant() : "@" + AclCategories.Named.First(n => n.Category == Category).Name);
}
