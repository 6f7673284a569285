using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Server;

/// <summary>SLOWLOG GET [count] | LEN | RESET | HELP, as Redis (<see cref="Observability.SlowLog"/>).</summary>
internal sealed class SlowLogCommand() : SyncCommand("SLOWLOG", -2)
{
    private const int DefaultCount = 10;

    private static readonly string[] Help =
    [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
    ];

    protected override void Execute(ClientSession session, RespRequest request)
    {
        var log = session.Server.SlowLog;
        var writer = session.Writer;
        if (request.EqualsIgnoreCase(1, "GET"u8) && request.Count <= 3)
        {
            int count = DefaultCount;
            if (request.Count == 3 && (!request.TryGetInt64(2, out long wanted) || wanted < -1 || wanted > int.MaxValue))
            {
                throw CommandException.Syntax("count should be greater than or equal to -1");
            }
            else if (request.Count == 3)
            {
                request.TryGetInt64(2, out long given);
                count = (int)given;
            }

            var entries = log.Newest(count);
            writer.WriteArrayHeader(entries.Count);
            foreach (var entry in entries)
            {
                writer.WriteArrayHeader(6);
                writer.WriteInteger(entry.Id);
                writer.WriteInteger(entry.UnixSeconds);
                writer.WriteInteger(entry.Microseconds);
                writer.WriteArrayHeader(entry.Arguments.Length);
                foreach (string argument in entry.Arguments)
                {
                    writer.WriteBulkString(argument);
                }

                writer.WriteBulkString(entry.ClientAddress);
                writer.WriteBulkString(entry.ClientName);
            }
        }
        else if (request.EqualsIgnoreCase(1, "LEN"u8) && request.Count == 2)
        {
            writer.WriteInteger(log.Count);
        }
        else if (request.EqualsIgnoreCase(1, "RESET"u8) && request.Count == 2)
        {
            log.Reset();
            writer.WriteOk();
        }
        else if (request.EqualsIgnoreCase(1, "HELP"u8) && request.Count == 2)
        {
            writer.WriteArrayHeader(Help.Length);
            foreach (string line in Help)
            {
                writer.WriteSimpleString(line);
            }
        }
        else
        {
            throw CommandException.Syntax($"unknown subcommand or wrong number of arguments for '{ErrorText.Excerpt(request[1])}'. Try SLOWLOG HELP.");
        }
    }
}
