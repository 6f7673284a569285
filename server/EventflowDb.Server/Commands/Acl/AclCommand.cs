using System.Globalization;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;

namespace EventflowDb.Server.Commands.Acl;

/// <summary>
/// ACL SETUSER | GETUSER | DELUSER | LIST | USERS | WHOAMI | CAT | LOG | SAVE | LOAD: the users, as Redis's ACL
/// (SPEC "TLS and users"). WHOAMI and CAT are <c>@connection</c>, the rest <c>@admin</c>.
/// </summary>
internal sealed class AclCommand() : SyncCommand("ACL", -2)
{
    private const int MaxSubcommandLength = 16;

    public override AclCategory CategoriesOf(RespRequest request) =>
        request.EqualsIgnoreCase(1, "WHOAMI"u8) || request.EqualsIgnoreCase(1, "CAT"u8) ? AclCategory.Connection : Categories;

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var access = session.Server.Access;
        string sub = request[1].Length <= MaxSubcommandLength ? request.GetString(1).ToUpperInvariant() : string.Empty;
        try
        {
            switch (sub)
            {
                case "SETUSER" when request.Count >= 3:
                    SetUser(session, request);
                    break;
                case "GETUSER" when request.Count == 3:
                    GetUser(session.Writer, access.Find(request.GetString(2)));
                    break;
                case "DELUSER" when request.Count >= 3:
                    DeleteUsers(session, request);
                    break;
                case "LIST" when request.Count == 2:
                    WriteStrings(session.Writer, access.Users.Select(u => u.Describe()).ToList());
                    break;
                case "USERS" when request.Count == 2:
                    WriteStrings(session.Writer, access.Users.Select(u => u.Name).ToList());
                    break;
                case "WHOAMI" when request.Count == 2:
                    session.Writer.WriteBulkString(session.User.Name);
                    break;
                case "CAT" when request.Count <= 3:
                    ListCategories(session, request);
                    break;
                case "LOG" when request.Count <= 3:
                    Log(session, request);
                    break;
                case "SAVE" when request.Count == 2:
                    access.SaveFile();
                    session.Server.Logger.Information("Users saved to {AclFile} by client {ClientId} {Remote}", access.FilePath, session.Id, session.Remote);
                    session.Writer.WriteOk();
                    break;
                case "LOAD" when request.Count == 2:
                    var gone = access.LoadFile();
                    session.Server.Logger.Information("Users loaded from {AclFile} by client {ClientId} {Remote}", access.FilePath, session.Id, session.Remote);
                    CloseSessionsOf(session, gone);
                    session.Writer.WriteOk();
                    break;
                default:
                    throw CommandException.Syntax($"unknown subcommand or wrong number of arguments for '{ErrorText.Excerpt(request[1])}'. Try ACL HELP.");
            }
        }
        catch (AclRuleException e)
        {
            throw CommandException.Syntax(e.Message);
        }
        catch (IOException e)
        {
            throw CommandException.Syntax($"There was an error with the ACL file: {e.Message}");
        }
    }

    private static void SetUser(ClientSession session, RespRequest request)
    {
        string name = request.GetString(2);
        var rules = new List<string>(request.Count - 3);
        for (int i = 3; i < request.Count; i++)
        {
            rules.Add(request.GetString(i));
        }

        session.Server.Access.SetUser(name, rules);

        // The rules may hold clear-text passwords: only the user's name is logged.
        session.Server.Logger.Information("User {User} changed by client {ClientId} {Remote}", name, session.Id, session.Remote);
        session.Writer.WriteOk();
    }

    private static void DeleteUsers(ClientSession session, RespRequest request)
    {
        var names = new List<string>();
        for (int i = 2; i < request.Count; i++)
        {
            names.Add(request.GetString(i));
        }

        var removed = session.Server.Access.DeleteUsers(names);
        foreach (var user in removed)
        {
            session.Server.Logger.Information("User {User} deleted by client {ClientId} {Remote}", user.Name, session.Id, session.Remote);
        }

        CloseSessionsOf(session, removed);
        session.Writer.WriteInteger(removed.Count);
    }

    /// <summary>Connections of a user that no longer exists are closed, as Redis does (the caller's own after this reply).</summary>
    private static void CloseSessionsOf(ClientSession caller, IReadOnlyList<AclUser> users)
    {
        if (users.Count == 0)
        {
            return;
        }

        foreach (var client in caller.Server.Clients.Values)
        {
            if (users.Contains(client.User))
            {
                if (client == caller)
                {
                    caller.RequestClose();
                }
                else
                {
                    client.RequestStop();
                }
            }
        }
    }

    private static void GetUser(RespWriter writer, AclUser? user)
    {
        if (user is null)
        {
            writer.WriteNull();
            return;
        }

        var rules = user.Rules;
        writer.WriteMapHeader(4);
        writer.WriteBulkString("flags"u8);
        writer.WriteArrayHeader(rules.NoPass ? 2 : 1);
        writer.WriteBulkString(rules.Enabled ? "on"u8 : "off"u8);
        if (rules.NoPass)
        {
            writer.WriteBulkString("nopass"u8);
        }

        writer.WriteBulkString("passwords"u8);
        WriteStrings(writer, rules.Passwords.Select(PasswordHash.Hex).ToList());
        writer.WriteBulkString("commands"u8);
        writer.WriteBulkString(rules.DescribeCommands());
        writer.WriteBulkString("keys"u8);
        writer.WriteBulkString(rules.DescribeStreams());
    }

    private static void ListCategories(ClientSession session, RespRequest request)
    {
        if (request.Count == 2)
        {
            WriteStrings(session.Writer, AclCategories.Named.Select(n => n.Name).ToList());
            return;
        }

        string name = request.GetString(2);
        var category = AclCategories.Find(name) ?? throw CommandException.Syntax($"Unknown category '{ErrorText.Excerpt(name)}'");
        var commands = session.Server.Commands.All
            .Where(c => (c.Categories & category) != 0)
            .Select(c => c.Name.ToLowerInvariant())
            .Order(StringComparer.Ordinal)
            .ToList();
        WriteStrings(session.Writer, commands);
    }

    private static void Log(ClientSession session, RespRequest request)
    {
        var log = session.Server.Access.Log;
        int count = 10;
        if (request.Count == 3)
        {
            if (request.EqualsIgnoreCase(2, "RESET"u8))
            {
                log.Reset();
                session.Writer.WriteOk();
                return;
            }

            count = request.TryGetInt64(2, out long n) && n is >= 0 and <= int.MaxValue
                ? (int)n
                : throw CommandException.Syntax("value is out of range, must be positive");
        }

        var entries = log.Newest(count);
        var writer = session.Writer;
        var now = DateTimeOffset.UtcNow;
        writer.WriteArrayHeader(entries.Count);
        foreach (var entry in entries)
        {
            writer.WriteMapHeader(10);
            writer.WriteBulkString("count"u8);
            writer.WriteInteger(entry.Count);
            writer.WriteBulkString("reason"u8);
            writer.WriteBulkString(entry.ReasonText);
            writer.WriteBulkString("context"u8);
            writer.WriteBulkString("toplevel"u8);
            writer.WriteBulkString("object"u8);
            writer.WriteBulkString(entry.Object);
            writer.WriteBulkString("username"u8);
            writer.WriteBulkString(entry.User);
            writer.WriteBulkString("age-seconds"u8);
            writer.WriteBulkString((now - entry.Created).TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));
            writer.WriteBulkString("client-info"u8);
            writer.WriteBulkString(entry.ClientInfo);
            writer.WriteBulkString("entry-id"u8);
            writer.WriteInteger(entry.Id);
            writer.WriteBulkString("timestamp-created"u8);
            writer.WriteInteger(entry.Created.ToUnixTimeMilliseconds());
            writer.WriteBulkString("timestamp-last-updated"u8);
            writer.WriteInteger(entry.LastUpdated.ToUnixTimeMilliseconds());
        }
    }

    private static void WriteStrings(RespWriter writer, List<string> values)
    {
        writer.WriteArrayHeader(values.Count);
        foreach (string value in values)
        {
            writer.WriteBulkString(value);
        }
    }
}
