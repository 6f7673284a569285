namespace EventflowDb.Server.Security;

/// <summary>
/// A user. Sessions authenticated as it hold this object, so a change of its rules applies to them at once;
/// a deleted user's sessions are closed.
/// </summary>
internal sealed class AclUser(string name, AclRules rules)
{
    public const string DefaultName = "default";

    private AclRules _rules = rules;

    public string Name { get; } = name;

    public AclRules Rules
    {
        get => Volatile.Read(ref _rules);
        set => Volatile.Write(ref _rules, value);
    }

    /// <summary>The user's line of <c>ACL LIST</c> and of the ACL file.</summary>
    public string Describe() => $"user {Name} {Rules.Describe()}";
}
