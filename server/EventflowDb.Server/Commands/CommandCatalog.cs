using EventflowDb.Server.Commands.Connection;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Commands.Groups;
using EventflowDb.Server.Commands.Lifecycle;
using EventflowDb.Server.Commands.PubSub;
using EventflowDb.Server.Commands.Acl;
using EventflowDb.Server.Commands.Server;
using Category = EventflowDb.Server.Security.AclCategory;

namespace EventflowDb.Server.Commands;

/// <summary>Every command the server knows, registered once with its ACL categories. Add a command here.</summary>
internal static class CommandCatalog
{
    public static CommandTable Create(int maxAppendBytes) => new(
    [
        // EventflowDB commands
        new AddCommand(maxAppendBytes) { Categories = Category.Write },
        new GetCommand { Categories = Category.Read },
        new GetAllCommand { Categories = Category.Read },
        new ListStreamsCommand { Categories = Category.Read },
        new ChecksumCommand { Categories = Category.Read },
        new CountCommand("EVENTCOUNT", s => s.EventCount) { Categories = Category.Read },
        new CountCommand("STREAMCOUNT", s => s.StreamCount) { Categories = Category.Read },
        new CountCommand("EVENTCOUNTEST", s => s.EventCountEstimate) { Categories = Category.Read },
        new CountCommand("STREAMCOUNTEST", s => s.StreamCountEstimate) { Categories = Category.Read },
        new SizeCommand { Categories = Category.Read },
        new UptimeCommand { Categories = Category.Connection },
        new VersionCommand { Categories = Category.Connection },

        // Stream lifecycle (a control record each) and compaction
        new DeleteCommand { Categories = Category.Write },
        new TruncateCommand { Categories = Category.Write },
        new StreamMetaCommand { Categories = Category.Write | Category.Read },
        new SnapshotCommand(maxAppendBytes) { Categories = Category.Write | Category.Read },
        new ForgetCommand { Categories = Category.Write },
        new CompactCommand { Categories = Category.Write },

        // Connection
        new PingCommand { Categories = Category.Connection },
        new AuthCommand { Categories = Category.Connection },
        new HelloCommand { Categories = Category.Connection },
        new QuitCommand { Categories = Category.Connection },
        new EchoCommand { Categories = Category.Connection },
        new SelectCommand { Categories = Category.Connection },
        new ClientCommand { Categories = Category.Connection },

        // Redis server surface that stock clients use
        new InfoCommand { Categories = Category.Connection },
        new CommandCommand { Categories = Category.Connection },
        new ConfigCommand { Categories = Category.Admin },
        new TimeCommand { Categories = Category.Connection },
        new CountCommand("DBSIZE", s => s.StreamCount) { Categories = Category.Read },
        new ClusterCommand { Categories = Category.Connection },
        new RoleCommand { Categories = Category.Connection },
        new BackupCommand { Categories = Category.Admin },
        new SeedCommand { Categories = Category.Admin },
        new SlowLogCommand { Categories = Category.Admin },

        // Users
        new AclCommand { Categories = Category.Admin },

        // Pub/sub
        new SubscriptionCommand("SUBSCRIBE", subscribe: true, pattern: false) { Categories = Category.PubSub },
        new SubscriptionCommand("UNSUBSCRIBE", subscribe: false, pattern: false) { Categories = Category.PubSub },
        new SubscriptionCommand("PSUBSCRIBE", subscribe: true, pattern: true) { Categories = Category.PubSub },
        new SubscriptionCommand("PUNSUBSCRIBE", subscribe: false, pattern: true) { Categories = Category.PubSub },
        new FollowCommand { Categories = Category.Read | Category.PubSub },

        // Consumer groups
        new GroupCommand { Categories = Category.Group },
    ]);
}
