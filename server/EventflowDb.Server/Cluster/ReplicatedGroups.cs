using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using EventflowDb.Server.Groups;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// Consumer groups in a cluster: "the leader decides, the log carries the decision". A GROUP command on the leader
/// computes its change as standalone (which events go to which consumer, positions, acks) as a <see cref="GroupRecord"/>
/// and proposes it as one Raft entry (<see cref="ReplicatedKind.Group"/>: the record and the leader's wall clock);
/// every member, the leader included, applies committed group entries to its own <see cref="GroupRegistry"/> and
/// journal in log order (<see cref="ApplyAsync"/>, called by <see cref="StoreStateMachine"/>), and the leader answers
/// once its own apply is done. The registry's state changes only by those applies, so a leader that loses its
/// leadership has nothing to undo.
/// </summary>
/// <remarks>
/// Time: ack deadlines are the leader's Unix ms (the entry carries the leader's clock), so a new leader redelivers
/// timed-out events at the right time (up to the members' clock skew). Restart: the group journal records each
/// entry's Raft index; a replayed entry at or below the last one journaled is skipped.
/// </remarks>
internal sealed class ReplicatedGroups : IGroupReplication
{
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(10);

    private readonly Serilog.ILogger _logger;
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private ClusterNode? _node;
    private long _uncertainIndex;
    private long _uncertainTerm;

    public ReplicatedGroups(IEventStore store, string dataDirectory, Serilog.ILogger logger)
    {
        _logger = logger;
        Registry = new GroupRegistry(store, dataDirectory, WallClock, this);
        logger.Information("Cluster: consumer groups hold the Raft entries through index {Index}; later group entries are applied again", Registry.LastRaftIndex);
    }

    /// <summary>The groups this member serves (reads from its replicated state; writes on the leader only).</summary>
    public GroupRegistry Registry { get; }

    /// <summary>Set once the member has started; before that no decision is taken (entries are only applied).</summary>
    public ClusterNode? Node
    {
        get => Volatile.Read(ref _node);
        set => Volatile.Write(ref _node, value);
    }

    public bool IsLeader => Node?.IsLeader ?? false;

    /// <summary>The clock of ack deadlines in a cluster: Unix ms, comparable between members.</summary>
    public static long WallClock() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public async Task BeginDecisionAsync()
    {
        var node = Node ?? throw ClusterUnavailableException.NoLeader("the cluster member is starting");

        // The same refusal as every write; on the leader it returns once the read barrier of its term has applied every
        // earlier entry here, so the decision sees every committed group change.
        await node.EnsureLeaderAsync(CancellationToken.None).ConfigureAwait(false);
        long uncertain = Volatile.Read(ref _uncertainIndex);
        if (uncertain == 0)
        {
            return;
        }

        if (node.Term != Volatile.Read(ref _uncertainTerm))
        {
            // A new term: its read barrier settled every entry of the earlier one (applied, or gone from the log).
            Volatile.Write(ref _uncertainIndex, 0);
            return;
        }

        // An earlier proposal of this term had an unknown outcome: it is still in this leader's log and applies before
        // anything proposed after it. Decide only once it is applied, against the state that includes it.
        var clock = Stopwatch.StartNew();
        while (node.AppliedIndex < uncertain)
        {
            if (clock.Elapsed > CatchUpTimeout || !node.IsLeader)
            {
                throw ClusterUnavailableException.NoLeader("the consumer groups are waiting for an earlier change to commit");
            }

            await Task.Delay(5).ConfigureAwait(false);
        }

        Volatile.Write(ref _uncertainIndex, 0);
    }

    public async Task ProposeAsync(GroupRecord record)
    {
        var node = Node ?? throw ClusterUnavailableException.NoLeader("the cluster member is starting");
        byte[] json = Encode(record);
        long term = node.Term;
        try
        {
            await node.ProposeAsync(
                (_, now) => new ReplicatedCommand { Kind = ReplicatedKind.Group, Mark = Ulid.Empty, Stream = record.Group, A = now, Data = json },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (ClusterUnavailableException)
        {
            // The entry may still be in the log and commit later: the next decision of this term waits for it.
            Volatile.Write(ref _uncertainTerm, term);
            Volatile.Write(ref _uncertainIndex, node.LastIndex);
            throw;
        }
    }

    /// <summary>
    /// Applies a committed group entry to this member's groups (every member, in log order). An I/O failure of the groups'
    /// journal is thrown: the state machine then stops applying, as when the store fails.
    /// </summary>
    public async Task ApplyAsync(long index, ReplicatedCommand command, StoreStateMachine.Pending? pending)
    {
        bool applied;
        try
        {
            GroupRecord record;
            using (var document = JsonDocument.Parse(command.Data))
            {
                record = GroupRecord.Read(document.RootElement);
            }

            record.Seq = 0;
            applied = await Registry.ApplyReplicatedAsync(index, command.A ?? WallClock(), record, _logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or InvalidDataException or ArgumentException)
        {
            _logger.Error(e, "Raft entry {Index} (consumer group {Group}) was not applied to this member's groups", index, command.Stream);
            pending?.Fail(e);
            return;
        }

        if (applied)
        {
            pending?.Complete(true);
        }
        else
        {
            pending?.Fail(ClusterUnavailableException.NoLeader("the group change was not applied"));
        }
    }

    private byte[] Encode(GroupRecord record)
    {
        _buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_buffer))
        {
            record.Write(json);
        }

        return _buffer.WrittenSpan.ToArray();
    }
}
