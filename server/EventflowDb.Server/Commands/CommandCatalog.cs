using EventflowDb.Server.Commands.Connection;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Commands.Groups;
using EventflowDb.Server.Commands.PubSub;
using EventflowDb.Server.Commands.Server;

namespace EventflowDb.Server.Commands;

/// <summary>Every command the server knows, registered once. Add a command here.</summary>
internal static class CommandCatalog
{
    public static CommandTable Create(int maxAppendBytes) => new(
    [
        // EventflowDB commands
        new AddCommand(maxAppendBytes),
        new GetCommand(),
        new GetAllCommand(),
        new ListStreamsCommand(),
        new ChecksumCommand(),
        new CountCommand("EVENTCOUNT", s => s.EventCount),
        new CountCommand("STREAMCOUNT", s => s.StreamCount),
        new CountCommand("EVENTCOUNTEST", s => s.EventCountEstimate),
        new CountCommand("STREAMCOUNTEST", s => s.StreamCountEstimate),
        new SizeCommand(),
        new UptimeCommand(),
        new VersionCommand(),

        // Connection
        new PingCommand(),
        new AuthCommand(),
        new HelloCommand(),
        new QuitCommand(),
        new EchoCommand(),
        new SelectCommand(),
        new ClientCommand(),

        // Redis server surface that stock clients use
        new InfoCommand(),
        new CommandCommand(),
        new ConfigCommand(),
        new TimeCommand(),
        new CountCommand("DBSIZE", s => s.StreamCount),
        new ClusterCommand(),

        // Pub/sub
        new SubscriptionCommand("SUBSCRIBE", subscribe: true, pattern: false),
        new SubscriptionCommand("UNSUBSCRIBE", subscribe: false, pattern: false),
        new SubscriptionCommand("PSUBSCRIBE", subscribe: true, pattern: true),
        new SubscriptionCommand("PUNSUBSCRIBE", subscribe: false, pattern: true),
        new FollowCommand(),

        // Consumer groups
        new GroupCommand(),
    ]);
}
