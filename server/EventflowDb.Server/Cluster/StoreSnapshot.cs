using System.Text.Json;
using System.Text.Json.Serialization;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// A Raft snapshot of this member: "the store holds every entry through <see cref="Index"/> durably". The store itself is
/// the state, so the snapshot is only this record (a few hundred bytes), kept in <c>raft/snapshot</c>; the WAL drops the
/// entries through <see cref="Index"/>. A member sent it by the leader (it lacks entries the leader no longer has) copies
/// a whole store out of band instead (<see cref="SnapshotInstall"/>): Raft's InstallSnapshot has one request time-out for
/// the whole transfer, too short for a store.
/// </summary>
/// <param name="Index">The last Raft entry the store holds durably.</param>
/// <param name="Term">The term of that entry.</param>
/// <param name="LastEventId">The last event id among entries through <see cref="Index"/>: a store whose last event is
/// below it lost entries the log no longer has.</param>
/// <param name="Sources">Client addresses of the members known when it was taken (where a copy of a store can be had).</param>
/// <param name="GroupsIndex">The last Raft index the consumer groups' journal held: a journal below it lost records.</param>
internal sealed record StoreSnapshot(long Index, long Term, Ulid LastEventId, IReadOnlyList<string> Sources, long GroupsIndex = 0) : ISnapshot
{
    /// <summary>Payloads above this size are not ours (they are refused before being read).</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    /// <summary>This member's snapshot record in <c>raft/</c>.</summary>
    public const string FileName = "snapshot";

    bool IDataTransferObject.IsReusable => true;

    long? IDataTransferObject.Length => ToBytes().Length;

    ValueTask IDataTransferObject.WriteToAsync<TWriter>(TWriter writer, CancellationToken token) => writer.Invoke(ToBytes(), token);

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(
        new Json { Index = Index, Term = Term, LastEventId = LastEventId.ToString(), Sources = [.. Sources], GroupsIndex = GroupsIndex },
        SnapshotJsonContext.Default.Json);

    /// <summary>Reads a snapshot's payload (sent by a leader, or this member's file); <see cref="InvalidDataException"/> when it is not one.</summary>
    public static StoreSnapshot Parse(ReadOnlySpan<byte> bytes, long index, long term)
    {
        Json? json;
        try
        {
            json = JsonSerializer.Deserialize(bytes, SnapshotJsonContext.Default.Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"a Raft snapshot is not readable: {e.Message}", e);
        }

        if (json is null || !Ulid.TryParse(json.LastEventId, out var last))
        {
            throw new InvalidDataException("a Raft snapshot has no last event id");
        }

        return new StoreSnapshot(index, term, last, json.Sources ?? [], json.GroupsIndex);
    }

    /// <summary>The snapshot this member recorded in <c>raft/snapshot</c>, or null when it has none.</summary>
    public static StoreSnapshot? Load(string raftDirectory, string fileName = FileName)
    {
        string path = Path.Combine(raftDirectory, fileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        var json = JsonSerializer.Deserialize(bytes, SnapshotJsonContext.Default.Json)
            ?? throw new InvalidDataException($"{path} is empty");
        return Parse(bytes, json.Index, json.Term);
    }

    /// <summary>Records this snapshot durably (a crash leaves the old one or this one).</summary>
    public void Save(string raftDirectory, string fileName = FileName)
    {
        var bytes = ToBytes();
        AtomicFile.Write(Path.Combine(raftDirectory, fileName), s => s.Write(bytes));
    }

    internal sealed class Json
    {
        [JsonPropertyName("index")]
        public long Index { get; set; }

        [JsonPropertyName("term")]
        public long Term { get; set; }

        [JsonPropertyName("last_event_id")]
        public string? LastEventId { get; set; }

        [JsonPropertyName("sources")]
        public string[]? Sources { get; set; }

        [JsonPropertyName("groups_index")]
        public long GroupsIndex { get; set; }
    }
}

[JsonSerializable(typeof(StoreSnapshot.Json))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
