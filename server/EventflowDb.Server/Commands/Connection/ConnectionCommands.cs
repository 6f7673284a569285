using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Connection;

/// <summary>PING [message]: +PONG, or the message; in RESP2 subscriber mode ["pong", message] as Redis does.</summary>
internal sealed class PingCommand() : SyncCommand("PING", -1, CommandFlags.Subscriber)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        if (request.Count > 2)
        {
            throw CommandException.Syntax("wrong number of arguments for 'ping' command");
        }

        var writer = session.Writer;
        if (session.InSubscriberMode)
        {
            writer.WriteArrayHeader(2);
            writer.WriteBulkString("pong"u8);
            writer.WriteBulkString(request.Count > 1 ? request[1] : default);
        }
        else if (request.Count > 1)
        {
            writer.WriteBulkString(request[1]);
        }
        else
        {
            writer.WriteSimpleString("PONG"u8);
        }
    }
}

/// <summary>AUTH [user] password: as a user of the ACL (<c>default</c> when no user is named).</summary>
internal sealed class AuthCommand() : SyncCommand("AUTH", -2, CommandFlags.NoAuth | CommandFlags.Subscriber)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        if (request.Count > 3)
        {
            throw CommandException.Syntax("syntax error");
        }

        if (request.Count == 2 && !session.Server.Access.AuthenticationRequired)
        {
            throw CommandException.Syntax("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }

        var user = request.Count == 3 ? request.GetString(1) : Security.AclUser.DefaultName;
        Authenticate(session, user, request[request.Count - 1]);
        session.Writer.WriteOk();
    }

    /// <summary>Checks the credentials (hashes compared in constant time) and signs the session in, or throws WRONGPASS.</summary>
    public static void Authenticate(ClientSession session, string user, ReadOnlySpan<byte> password)
    {
        var signedIn = session.Server.Access.Authenticate(user, password);
        if (signedIn is null)
        {
            session.AuthenticationFailed();
            session.RecordRefusal(Security.AclLogReason.Auth, "AUTH", user);
            throw new CommandException("WRONGPASS invalid username-password pair or user is disabled.");
        }

        session.SignIn(signedIn);
    }
}

/// <summary>HELLO [protover [AUTH user password] [SETNAME name]]: switches RESP version and replies with server facts.</summary>
internal sealed class HelloCommand() : SyncCommand("HELLO", -1, CommandFlags.NoAuth | CommandFlags.Subscriber)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        bool? resp3 = null;
        int i = 1;
        if (request.Count > 1)
        {
            resp3 = Arguments.Integer(request, 1, "Protocol version") switch
            {
                2 => false,
                3 => true,
                _ => throw new CommandException("NOPROTO unsupported protocol version"),
            };
            i = 2;
        }

        string? name = null;
        bool authenticated = false;
        for (; i < request.Count; i++)
        {
            if (request.EqualsIgnoreCase(i, "AUTH"u8) && i + 2 < request.Count)
            {
                AuthCommand.Authenticate(session, request.GetString(i + 1), request[i + 2]);
                authenticated = true;
                i += 2;
            }
            else if (request.EqualsIgnoreCase(i, "SETNAME"u8) && i + 1 < request.Count)
            {
                name = ClientCommand.ValidName(request.GetString(i + 1));
                i += 1;
            }
            else
            {
                throw CommandException.Syntax($"Syntax error in HELLO option '{ErrorText.Excerpt(request[i])}'");
            }
        }

        if (!session.Authenticated && !authenticated)
        {
            throw new CommandException("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }

        if (resp3 is { } r)
        {
            session.Writer.Resp3 = r;
        }

        if (name is not null)
        {
            session.Name = name;
        }

        var writer = session.Writer;
        writer.WriteMapHeader(7);
        writer.WriteBulkString("server"u8);
        writer.WriteBulkString("eventflowdb"u8);
        writer.WriteBulkString("version"u8);
        writer.WriteBulkString(ServerContext.RedisCompatibleVersion);
        writer.WriteBulkString("proto"u8);
        writer.WriteInteger(writer.Resp3 ? 3 : 2);
        writer.WriteBulkString("id"u8);
        writer.WriteInteger(session.Id);
        writer.WriteBulkString("mode"u8);
        writer.WriteBulkString("standalone"u8);
        writer.WriteBulkString("role"u8);
        writer.WriteBulkString("master"u8);
        writer.WriteBulkString("modules"u8);
        writer.WriteArrayHeader(0);
    }
}

/// <summary>QUIT: +OK, then the connection closes.</summary>
internal sealed class QuitCommand() : SyncCommand("QUIT", -1, CommandFlags.NoAuth | CommandFlags.Subscriber)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        session.Writer.WriteOk();
        session.RequestClose();
    }
}

/// <summary>ECHO message.</summary>
internal sealed class EchoCommand() : SyncCommand("ECHO", 2)
{
    protected override void Execute(ClientSession session, RespRequest request) => session.Writer.WriteBulkString(request[1]);
}

/// <summary>SELECT index: there is one database, 0.</summary>
internal sealed class SelectCommand() : SyncCommand("SELECT", 2)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        if (Arguments.Integer(request, 1, "value") != 0)
        {
            throw CommandException.Syntax("DB index is out of range");
        }

        session.Writer.WriteOk();
    }
}
