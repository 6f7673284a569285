using System.Globalization;
using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Connection;

/// <summary>CLIENT SETNAME | GETNAME | SETINFO | ID | INFO | LIST.</summary>
internal sealed class ClientCommand() : SyncCommand("CLIENT", -2)
{
    /// <summary>CLIENT LIST shows every client's address and user: an administrator's view.</summary>
    public override EventflowDb.Server.Security.AclCategory CategoriesOf(RespRequest request) =>
        request.EqualsIgnoreCase(1, "LIST"u8) ? EventflowDb.Server.Security.AclCategory.Admin : Categories;

    public static string ValidName(string name) =>
        name.Any(c => c <= ' ' || c > '~')
            ? throw CommandException.Syntax("Client names cannot contain spaces, newlines or special characters.")
            : name;

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var writer = session.Writer;
        if (request.EqualsIgnoreCase(1, "SETNAME"u8) && request.Count == 3)
        {
            session.Name = ValidName(request.GetString(2));
            writer.WriteOk();
        }
        else if (request.EqualsIgnoreCase(1, "GETNAME"u8) && request.Count == 2)
        {
            if (session.Name is null)
            {
                writer.WriteNull();
            }
            else
            {
                writer.WriteBulkString(session.Name);
            }
        }
        else if (request.EqualsIgnoreCase(1, "SETINFO"u8) && request.Count == 4)
        {
            if (request.EqualsIgnoreCase(2, "LIB-NAME"u8))
            {
                session.LibraryName = ValidName(request.GetString(3));
            }
            else if (request.EqualsIgnoreCase(2, "LIB-VER"u8))
            {
                session.LibraryVersion = ValidName(request.GetString(3));
            }
            else
            {
                throw CommandException.Syntax($"Unrecognized option '{ErrorText.Excerpt(request[2])}'");
            }

            writer.WriteOk();
        }
        else if (request.EqualsIgnoreCase(1, "ID"u8) && request.Count == 2)
        {
            writer.WriteInteger(session.Id);
        }
        else if (request.EqualsIgnoreCase(1, "INFO"u8) && request.Count == 2)
        {
            writer.WriteBulkString(Describe(session) + "\n");
        }
        else if (request.EqualsIgnoreCase(1, "LIST"u8) && request.Count == 2)
        {
            var text = new StringBuilder();
            foreach (var client in session.Server.Clients.Values.OrderBy(c => c.Id))
            {
                text.Append(Describe(client)).Append('\n');
            }

            writer.WriteBulkString(text.ToString());
        }
        else
        {
            throw CommandException.Syntax($"unknown subcommand or wrong number of arguments for '{ErrorText.Excerpt(request[1])}'. Try CLIENT HELP.");
        }
    }

    /// <summary>The client's CLIENT LIST line (also the <c>client-info</c> of ACL LOG).</summary>
    public static string Describe(ClientSession c)
    {
        long age = (long)(DateTimeOffset.UtcNow - c.ConnectedAt).TotalSeconds;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"id={c.Id} addr={c.Remote} name={c.Name} age={age} db=0 sub={c.Channels.Count} psub={c.Patterns.Count} omem={c.UnsentBytes} cmd={c.LastCommand.ToLowerInvariant()} resp={(c.Writer.Resp3 ? 3 : 2)} lib-name={c.LibraryName} lib-ver={c.LibraryVersion} user={c.User.Name}");
    }
}
