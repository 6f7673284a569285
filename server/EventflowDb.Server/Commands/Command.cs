using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands;

/// <summary>What a command may do in which session state.</summary>
[Flags]
internal enum CommandFlags
{
    None = 0,

    /// <summary>Allowed before authentication (AUTH, HELLO, QUIT).</summary>
    NoAuth = 1,

    /// <summary>Allowed in RESP2 subscriber mode.</summary>
    Subscriber = 2,

    /// <summary>May leave its reply pending (ADD): earlier pending replies need not be written first.</summary>
    Pipelined = 4,
}

/// <summary>
/// One command: its name, its Redis-style arity (n: exactly n arguments with the name; -n: at least n)
/// and its handler. Handlers validate first and write their reply last; bad input is reported by
/// throwing <see cref="CommandException"/>, which the session turns into an error reply.
/// </summary>
internal abstract class Command(string name, int arity, CommandFlags flags = CommandFlags.None)
{
    public string Name { get; } = name;

    public int Arity { get; } = arity;

    public CommandFlags Flags { get; } = flags;

    /// <summary>The ACL categories of the command (<c>+@read</c> ...), set where it is registered (<see cref="CommandCatalog"/>).</summary>
    public AclCategory Categories { get; init; }

    /// <summary>The categories of one invocation; a command whose subcommands differ (CONFIG SET, ACL WHOAMI) overrides it.</summary>
    public virtual AclCategory CategoriesOf(RespRequest request) => Categories;

    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;

    public abstract ValueTask ExecuteAsync(ClientSession session, RespRequest request);
}

/// <summary>A command that completes synchronously.</summary>
internal abstract class SyncCommand(string name, int arity, CommandFlags flags = CommandFlags.None)
    : Command(name, arity, flags)
{
    public sealed override ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        Execute(session, request);
        return ValueTask.CompletedTask;
    }

    protected abstract void Execute(ClientSession session, RespRequest request);
}

/// <summary>Bad input: the message starts with the SPEC.md code word (ERR, INVALID, WRONGVERSION, TOOLARGE, ...).</summary>
internal sealed class CommandException(string message) : Exception(message)
{
    public static CommandException Syntax(string detail) => new($"ERR {detail}");

    public static CommandException Invalid(string detail) => new($"INVALID {detail}");

    public static CommandException TooLarge(string detail) => new($"TOOLARGE {detail}");
}
