using System.Globalization;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Server;

/// <summary>TIME: [unix seconds, microseconds].</summary>
internal sealed class TimeCommand() : SyncCommand("TIME", 1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        long micros = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10;
        session.Writer.WriteArrayHeader(2);
        session.Writer.WriteBulkString(micros / 1_000_000);
        session.Writer.WriteBulkString(micros % 1_000_000);
    }
}

/// <summary>CLUSTER ...: this server is not a cluster; clients ignore the error.</summary>
internal sealed class ClusterCommand() : SyncCommand("CLUSTER", -2)
{
    protected override void Execute(ClientSession session, RespRequest request) =>
        throw CommandException.Syntax("This instance has cluster support disabled");
}

/// <summary>CONFIG GET pattern [pattern ...]: the settings clients ask about; CONFIG SET (<see cref="ConfigSet"/>) changes the TLS files and the SLOWLOG settings.</summary>
internal sealed class ConfigCommand() : SyncCommand("CONFIG", -2)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        if (request.EqualsIgnoreCase(1, "SET"u8))
        {
            ConfigSet.Execute(session, request);
            return;
        }

        if (!request.EqualsIgnoreCase(1, "GET"u8) || request.Count < 3)
        {
            throw CommandException.Syntax($"unknown subcommand or wrong number of arguments for '{ErrorText.Excerpt(request[1])}'. Only CONFIG GET and CONFIG SET are supported.");
        }

        for (int i = 2; i < request.Count; i++)
        {
            GlobPattern.CheckLength(request[i]);
        }

        var settings = Configuration.ConfigValues.Of(session.Server.Options, session.Server.SlowLog);

        var matches = new List<(string Name, string Value)>();
        for (int i = 2; i < request.Count; i++)
        {
            string pattern = request.GetString(i);
            foreach (var setting in settings)
            {
                if (GlobPattern.IsMatch(pattern, setting.Name, ignoreCase: true) && !matches.Contains(setting))
                {
                    matches.Add(setting);
                }
            }
        }

        session.Writer.WriteMapHeader(matches.Count);
        foreach (var (key, value) in matches)
        {
            session.Writer.WriteBulkString(key);
            session.Writer.WriteBulkString(value);
        }
    }
}

/// <summary>COMMAND [COUNT | LIST | INFO name... | DOCS name...]: the command table, for clients that inspect it.</summary>
internal sealed class CommandCommand() : SyncCommand("COMMAND", -1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        var table = session.Server.Commands;
        var writer = session.Writer;
        var all = table.All.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        if (request.Count == 1)
        {
            writer.WriteArrayHeader(all.Count);
            all.ForEach(c => WriteInfo(writer, c));
        }
        else if (request.EqualsIgnoreCase(1, "COUNT"u8))
        {
            writer.WriteInteger(all.Count);
        }
        else if (request.EqualsIgnoreCase(1, "LIST"u8))
        {
            writer.WriteArrayHeader(all.Count);
            all.ForEach(c => writer.WriteBulkString(c.Name.ToLowerInvariant()));
        }
        else if (request.EqualsIgnoreCase(1, "INFO"u8))
        {
            writer.WriteArrayHeader(request.Count - 2);
            for (int i = 2; i < request.Count; i++)
            {
                var command = table.Find(request[i]);
                if (command is null)
                {
                    writer.WriteNullArray();
                }
                else
                {
                    WriteInfo(writer, command);
                }
            }
        }
        else if (request.EqualsIgnoreCase(1, "DOCS"u8))
        {
            // No per-command docs are kept; an empty map tells clients there is nothing to read.
            writer.WriteMapHeader(0);
        }
        else
        {
            throw CommandException.Syntax($"unknown subcommand '{ErrorText.Excerpt(request[1])}'. Try COMMAND HELP.");
        }
    }

    private static void WriteInfo(RespWriter writer, Command command)
    {
        writer.WriteArrayHeader(6);
        writer.WriteBulkString(command.Name.ToLowerInvariant());
        writer.WriteInteger(command.Arity);
        writer.WriteSetHeader(0);
        writer.WriteInteger(0);
        writer.WriteInteger(0);
        writer.WriteInteger(0);
    }
}
