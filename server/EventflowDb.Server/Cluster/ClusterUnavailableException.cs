namespace EventflowDb.Server.Cluster;

/// <summary>
/// A write refused because this member cannot take it now: a follower (<c>READONLY … leader=host:port</c>) or no leader
/// (<c>TRYAGAIN …</c>). <see cref="Exception.Message"/> is the whole error reply, code word first.
/// </summary>
internal sealed class ClusterUnavailableException(string reply) : Exception(reply)
{
    /// <summary>The reply of a write on a follower, naming the leader's client address.</summary>
    public static ClusterUnavailableException Follower(string leader) =>
        new($"READONLY You can't write against a read only replica. leader={leader}");

    /// <summary>The reply of a write while no leader is known (an election is running, or no majority is reachable).</summary>
    public static ClusterUnavailableException NoLeader(string detail) =>
        new($"TRYAGAIN no cluster leader: {detail}; retry shortly");
}
