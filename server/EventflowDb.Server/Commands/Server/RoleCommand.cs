using EventflowDb.Protocol;
using EventflowDb.Server.Cluster;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Server;

/// <summary>
/// ROLE, as Redis answers it: <c>["master", offset, [[host, port, offset], ...]]</c> on the leader (and on a standalone
/// server), <c>["slave", leader host, leader port, state, offset]</c> on a cluster follower. The offset is the Raft index
/// this member's store holds. Clients (StackExchange.Redis) find the leader with it.
/// </summary>
internal sealed class RoleCommand() : SyncCommand("ROLE", 1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        var writer = session.Writer;
        if (session.Store is not ReplicatedEventStore { Node: var node })
        {
            writer.WriteArrayHeader(3);
            writer.WriteBulkString("master"u8);
            writer.WriteInteger(0);
            writer.WriteArrayHeader(0);
            return;
        }

        long offset = node.DurableIndex;
        if (node.IsLeader)
        {
            // As INFO replication: the master's offset is its log's last index, each replica's the index it matches.
            offset = node.LastIndex;
            var replicas = node.Members().Where(m => !m.IsSelf && m.ClientAddress is not null).ToList();
            writer.WriteArrayHeader(3);
            writer.WriteBulkString("master"u8);
            writer.WriteInteger(offset);
            writer.WriteArrayHeader(replicas.Count);
            foreach (var replica in replicas)
            {
                var (host, port) = OptionsParser.ParseHostPort(replica.ClientAddress!, "announce");
                writer.WriteArrayHeader(3);
                writer.WriteBulkString(host);
                writer.WriteBulkString(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteBulkString((replica.Progress?.MatchIndex ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            return;
        }

        string? leader = node.LeaderAnnounce;
        var (leaderHost, leaderPort) = leader is null ? ("", 0) : OptionsParser.ParseHostPort(leader, "announce");
        writer.WriteArrayHeader(5);
        writer.WriteBulkString("slave"u8);
        writer.WriteBulkString(leaderHost);
        writer.WriteInteger(leaderPort);
        writer.WriteBulkString(leader is null ? "connect"u8 : "connected"u8);
        writer.WriteInteger(offset);
    }
}
