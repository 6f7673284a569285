using EventflowDb.Server.Commands;

namespace EventflowDb.Server.Security;

/// <summary>The command check of the ACL (<c>+@category</c>, <c>+command</c>), shared by RESP sessions and HTTP requests.</summary>
internal static class CommandRights
{
    /// <summary>
    /// Null when the subject's user may run <paramref name="command"/> with <paramref name="categories"/>; otherwise the
    /// <c>NOPERM</c> error, already recorded in <c>ACL LOG</c>.
    /// </summary>
    public static string? Refusal(IAclSubject subject, Command command, AclCategory categories)
    {
        var user = subject.User;
        var rules = user.Rules;
        if (rules.RunsAllCommands || (command.Flags & CommandFlags.NoAuth) != 0 || rules.CanRun(command, categories))
        {
            return null;
        }

        string name = command.Name.ToLowerInvariant();
        subject.RecordRefusal(AclLogReason.Command, name);
        return $"NOPERM User {user.Name} has no permissions to run the '{name}' command";
    }
}
