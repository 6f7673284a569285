using System.Diagnostics;
using System.Net;
using System.Reflection;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// How far one member's Raft log matches the leader's (null until the member answered in this leadership), and for how
/// long it has been behind.
/// </summary>
internal readonly record struct MemberProgress(long? MatchIndex, long? LagEntries, long LagSeconds);

/// <summary>
/// The leader's view of each follower's replication (INFO replication's <c>offset</c>/<c>lag</c>, INFO cluster's
/// <c>match_index</c>/<c>lag_entries</c>/<c>lag_seconds</c>). DotNext tracks, per member, the next index it will send
/// (<c>IRaftClusterMember.State.NextIndex</c>, set to the last index a follower accepted plus one), but keeps that state
/// <c>protected internal</c>; it is read here by reflection from <see cref="RaftClusterMember"/>'s private field. The
/// package version is pinned (Directory.Packages.props) and <c>ClusterProgressTests</c> fails if the field moves; if it is
/// ever missing, the progress is reported as unknown rather than guessed.
/// </summary>
internal sealed class ReplicationProgress
{
    private static readonly FieldInfo? StateField = typeof(RaftClusterMember).GetField("state", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? NextIndexField = StateField?.FieldType.GetField("NextIndex");

    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(250);

    private readonly Lock _lock = new();
    private readonly Dictionary<EndPoint, long> _inSyncAt = [];
    private readonly HashSet<EndPoint> _answered = [];
    private long _leaderSince = Stopwatch.GetTimestamp();
    private long _previousLastIndex = -1;

    /// <summary>True when DotNext's per-member state could be found (the pinned version's layout).</summary>
    public static bool Readable => NextIndexField is not null;

    /// <summary>
    /// Called when this member becomes the leader: DotNext then sets every member's next index to the leader's log end,
    /// before any of them answered, so nothing from before counts.
    /// </summary>
    public void LeadershipStarted()
    {
        lock (_lock)
        {
            _leaderSince = Stopwatch.GetTimestamp();
            _inSyncAt.Clear();
            _answered.Clear();
            _previousLastIndex = -1;
        }
    }

    /// <summary>
    /// Samples every member four times a second while this member leads. A member's next index is trusted, for the rest
    /// of the leadership, once the member is seen available at a sample a full period after the leadership began (longer
    /// than a Raft request's time-out, so a dead member has been marked unavailable by then). A trusted member is in sync at a sample when it
    /// holds everything the leader held at the previous one, so a busy cluster does not read as lagging.
    /// </summary>
    public async Task RunAsync(RaftCluster cluster, Func<bool> isLeader, Func<long> lastIndex, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(SampleEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (!isLeader())
                {
                    continue;
                }

                long now = Stopwatch.GetTimestamp();
                long last = lastIndex();
                lock (_lock)
                {
                    bool settled = Stopwatch.GetElapsedTime(_leaderSince, now) >= SampleEvery;
                    foreach (var member in cluster.Members)
                    {
                        if (!member.IsRemote || member.Status != ClusterMemberStatus.Available)
                        {
                            // An unavailable member keeps the next index of its last accepted entry: still its position.
                            continue;
                        }

                        if (settled)
                        {
                            _answered.Add(member.EndPoint);
                        }

                        if (_answered.Contains(member.EndPoint) && _previousLastIndex >= 0 && NextIndex(member) - 1 >= _previousLastIndex)
                        {
                            _inSyncAt[member.EndPoint] = now;
                        }
                    }

                    _previousLastIndex = last;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The member's progress as the leader sees it, or null when DotNext's state cannot be read.</summary>
    public MemberProgress? Of(IRaftClusterMember member, long leaderLastIndex)
    {
        if (NextIndex(member) is not { } next)
        {
            return null;
        }

        long now = Stopwatch.GetTimestamp();
        long? match = null;
        long since;
        lock (_lock)
        {
            if (_answered.Contains(member.EndPoint))
            {
                match = Math.Clamp(next - 1, 0, leaderLastIndex);
            }

            // Redis's lag: seconds since the replica was last seen in sync (since this leadership began if never).
            since = match >= leaderLastIndex ? now : _inSyncAt.TryGetValue(member.EndPoint, out long at) ? Math.Max(at, _leaderSince) : _leaderSince;
        }

        return new MemberProgress(match, leaderLastIndex - match, (long)Stopwatch.GetElapsedTime(since, now).TotalSeconds);
    }

    /// <summary>
    /// DotNext's next index to send to the member: one past the last index the member accepted, or, after a rejection,
    /// one past the member's own last index while the leader looks for where their logs agree. Read without a lock
    /// (a copy of a small struct): best effort, for monitoring only.
    /// </summary>
    private static long? NextIndex(IRaftClusterMember member)
    {
        if (member is not RaftClusterMember raftMember || StateField is null || NextIndexField is null)
        {
            return null;
        }

        return (long)NextIndexField.GetValue(StateField.GetValue(raftMember))!;
    }
}
