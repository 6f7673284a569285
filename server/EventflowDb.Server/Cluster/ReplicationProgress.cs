using System.Diagnostics;
using System.Net;
using System.Reflection;
using DotNext.Net.Cluster.Consensus.Raft;

namespace EventflowDb.Server.Cluster;

/// <summary>How far one member's Raft log matches the leader's, and for how long it has been behind.</summary>
internal readonly record struct MemberProgress(long MatchIndex, long LagEntries, long LagSeconds);

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

    private readonly Dictionary<EndPoint, long> _inSyncAt = [];
    private long _leaderSince = Stopwatch.GetTimestamp();
    private long _previousLastIndex;

    /// <summary>True when DotNext's per-member state could be found (the pinned version's layout).</summary>
    public static bool Readable => NextIndexField is not null;

    /// <summary>
    /// Samples every member four times a second while this member leads: a member is in sync at a sample when it
    /// holds everything the leader held at the previous one, so a busy cluster does not read as lagging.
    /// </summary>
    public async Task RunAsync(RaftCluster cluster, Func<bool> isLeader, Func<long> lastIndex, CancellationToken stopping)
    {
        bool leading = false;
        using var timer = new PeriodicTimer(SampleEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (!isLeader())
                {
                    leading = false;
                    continue;
                }

                long now = Stopwatch.GetTimestamp();
                long last = lastIndex();
                lock (_inSyncAt)
                {
                    if (!leading)
                    {
                        leading = true;
                        _leaderSince = now;
                        _inSyncAt.Clear();
                        _previousLastIndex = last;
                    }

                    foreach (var member in cluster.Members)
                    {
                        if (member.IsRemote && MatchIndex(member) is { } match && match >= _previousLastIndex)
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

    /// <summary>The member's progress as the leader sees it, or null when unknown (the state is unreadable).</summary>
    public MemberProgress? Of(IRaftClusterMember member, long leaderLastIndex)
    {
        if (MatchIndex(member) is not { } next)
        {
            return null;
        }

        long match = Math.Min(next, leaderLastIndex);
        long now = Stopwatch.GetTimestamp();
        long since;
        lock (_inSyncAt)
        {
            // Redis's lag: seconds since the replica was last seen in sync (since this leadership began if never).
            since = match >= leaderLastIndex ? now : _inSyncAt.TryGetValue(member.EndPoint, out long at) ? at : _leaderSince;
        }

        return new MemberProgress(match, leaderLastIndex - match, (long)Stopwatch.GetElapsedTime(since, now).TotalSeconds);
    }

    /// <summary>The last index the leader knows the member holds (DotNext's next index to send, minus one).</summary>
    private static long? MatchIndex(IRaftClusterMember member)
    {
        if (member is not RaftClusterMember raftMember || StateField is null || NextIndexField is null)
        {
            return null;
        }

        long next = (long)NextIndexField.GetValue(StateField.GetValue(raftMember))!;
        return Math.Max(0, next - 1);
    }
}
