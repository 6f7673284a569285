using System.Text;

namespace EventflowDb.Server.Security;

/// <summary>
/// The <c>--aclfile</c>: one <c>user &lt;name&gt; &lt;rules&gt;</c> line per user in the <c>ACL LIST</c> form; blank lines
/// and lines starting with <c>#</c> are skipped. Passwords are only ever written and read as SHA-256 (<c>#&lt;hex&gt;</c>).
/// </summary>
internal static class AclFile
{
    /// <summary>Reads every user of the file; any bad line throws <see cref="AclRuleException"/> naming the line, and nothing is taken.</summary>
    public static List<AclUser> Read(string path, AclRuleParser parser)
    {
        var users = new List<AclUser>();
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length < 2 || tokens[0] != "user")
            {
                throw LineError(path, number, "a line must be 'user <name> <rules>'");
            }

            if (tokens.Skip(2).FirstOrDefault(t => t.StartsWith('>') || t.StartsWith('<')) is { } clear)
            {
                throw LineError(path, number, $"passwords are kept only as SHA-256: write #<hex> instead of '{clear[0]}...'");
            }

            string name = tokens[1];
            if (!AccessControl.IsValidUserName(name))
            {
                throw LineError(path, number, $"invalid user name '{Commands.ErrorText.Excerpt(name)}'");
            }

            if (users.Any(u => u.Name == name))
            {
                throw LineError(path, number, $"duplicate user '{name}'");
            }

            try
            {
                users.Add(new AclUser(name, parser.Apply(AclRules.Empty, tokens.Skip(2))));
            }
            catch (AclRuleException e)
            {
                throw LineError(path, number, e.Message);
            }
        }

        return users;
    }

    /// <summary>Replaces the file with <paramref name="users"/> so that a crash leaves the old file or the new one.</summary>
    public static void Write(string path, IEnumerable<AclUser> users)
    {
        var text = new StringBuilder();
        foreach (var user in users)
        {
            text.Append(user.Describe()).Append('\n');
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        Storage.AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static AclRuleException LineError(string path, int line, string reason) => new($"{path}:{line}: {reason}");
}
