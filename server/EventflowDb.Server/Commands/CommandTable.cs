using System.Collections.Frozen;
using System.Text;

namespace EventflowDb.Server.Commands;

/// <summary>Finds a command by name, case-insensitively, without allocating.</summary>
internal sealed class CommandTable
{
    private const int MaxNameLength = 64;
    private readonly FrozenDictionary<string, Command> _byName;
    private readonly FrozenDictionary<string, Command>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public CommandTable(IEnumerable<Command> commands)
    {
        // An uncategorised command could be run only by +@all users: a mistake to catch when the server starts.
        if (commands.FirstOrDefault(c => c.Categories == Security.AclCategory.None) is { } missing)
        {
            throw new InvalidOperationException($"Command {missing.Name} has no ACL category");
        }

        _byName = commands.ToFrozenDictionary(c => c.Name.ToUpperInvariant(), StringComparer.Ordinal);
        _lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public IReadOnlyCollection<Command> All => _byName.Values;

    public Command? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength)
        {
            return null;
        }

        Span<char> upper = stackalloc char[MaxNameLength];
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            if (b >= 0x80)
            {
                return null;
            }

            upper[i] = (char)(b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b);
        }

        return _lookup.TryGetValue(upper[..name.Length], out var command) ? command : null;
    }

    public Command? Find(string name) => Find(Encoding.UTF8.GetBytes(name));
}
