using System.Buffers;
using System.Text;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>What a Raft log entry asks every member to do to its store.</summary>
internal enum ReplicatedKind : byte
{
    Append = 1,
    Delete = 2,
    Truncate = 3,
    StreamMeta = 4,
    Snapshot = 5,
    Forget = 6,

    /// <summary>One consumer-group record decided by the leader (Cluster/ReplicatedGroups.cs); not a store write.</summary>
    Group = 7,

    /// <summary>Several commands in one Raft entry, applied in order (Cluster/ReplicatedBatch.cs); never nested.</summary>
    Batch = 8,
}

/// <summary>
/// One write as the Raft log carries it: the leader's stamps (<see cref="Mark"/>, the events' ids and added_at) and the
/// request's arguments. Every member decodes the same bytes and applies them to its own store in log order.
/// </summary>
/// <remarks>
/// Format (version 1, little-endian): kind byte, mark (16 bytes), stream (length-prefixed UTF-8), then per kind:
/// Append: expected version, added_at ms, event count, per event: id (16), type, data, metadata, causation
/// (flag + 16), correlation (flag + 16), message id (flag + string). Delete: flag + expected version. Truncate:
/// version. StreamMeta: flag + maxCount, flag + maxAge. Snapshot: version, data. Forget: nothing more. Group: the
/// leader's wall clock (Unix ms), the group record's JSON (stream = the group's name, mark = empty: no stamp).
/// </remarks>
internal sealed class ReplicatedCommand
{
    public required ReplicatedKind Kind { get; init; }

    /// <summary>
    /// The leader's stamp, increasing along the log: the first event's id for an append, a fresh id for a lifecycle
    /// change. A restarted member skips an entry whose mark is not above its store's last durable event id.
    /// </summary>
    public required Ulid Mark { get; init; }

    public required string Stream { get; init; }

    public AppendRequest? Append { get; init; }

    public long? A { get; init; }

    public long? B { get; init; }

    public ReadOnlyMemory<byte> Data { get; init; }

    public byte[] Encode()
    {
        using var buffer = new MemoryStream();
        using var w = new BinaryWriter(buffer, Encoding.UTF8);
        w.Write((byte)Kind);
        w.Write(Mark.ToByteArray());
        w.Write(Stream);
        switch (Kind)
        {
            case ReplicatedKind.Append:
                var append = Append!;
                w.Write(append.Expected.Value);
                w.Write(append.AddedAt ?? 0);
                w.Write(append.Events.Count);
                foreach (var e in append.Events)
                {
                    w.Write(e.Id!.Value.ToByteArray());
                    w.Write(e.Type);
                    WriteBytes(w, e.Data.Span);
                    WriteBytes(w, e.Metadata.Span);
                    WriteUlid(w, e.CausationId);
                    WriteUlid(w, e.CorrelationId);
                    w.Write(e.MessageId is not null);
                    if (e.MessageId is not null)
                    {
                        w.Write(e.MessageId);
                    }
                }

                break;
            case ReplicatedKind.Snapshot or ReplicatedKind.Group:
                w.Write(A!.Value);
                WriteBytes(w, Data.Span);
                break;
            default:
                WriteOptional(w, A);
                WriteOptional(w, B);
                break;
        }

        w.Flush();
        return buffer.ToArray();
    }

    public static ReplicatedCommand Decode(ReadOnlySequence<byte> payload)
    {
        byte[] bytes = payload.ToArray();
        return Decode(bytes, 0, bytes.Length);
    }

    public static ReplicatedCommand Decode(byte[] bytes, int offset, int length)
    {
        using var buffer = new MemoryStream(bytes, offset, length, writable: false);
        using var r = new BinaryReader(buffer, Encoding.UTF8);
        var kind = (ReplicatedKind)r.ReadByte();
        var mark = new Ulid(r.ReadBytes(16));
        string stream = r.ReadString();
        switch (kind)
        {
            case ReplicatedKind.Append:
                var expected = new ExpectedVersion(r.ReadInt64());
                long addedAt = r.ReadInt64();
                int count = r.ReadInt32();
                var events = new NewEvent[count];
                for (int i = 0; i < count; i++)
                {
                    var id = new Ulid(r.ReadBytes(16));
                    string type = r.ReadString();
                    var data = ReadBytes(r);
                    var metadata = ReadBytes(r);
                    var causation = ReadUlid(r);
                    var correlation = ReadUlid(r);
                    string? messageId = r.ReadBoolean() ? r.ReadString() : null;
                    events[i] = new NewEvent { Id = id, Type = type, Data = data, Metadata = metadata, CausationId = causation, CorrelationId = correlation, MessageId = messageId };
                }

                return new ReplicatedCommand
                {
                    Kind = kind,
                    Mark = mark,
                    Stream = stream,
                    Append = new AppendRequest { Stream = stream, Expected = expected, Events = events, AddedAt = addedAt },
                };
            case ReplicatedKind.Snapshot or ReplicatedKind.Group:
                long version = r.ReadInt64();
                return new ReplicatedCommand { Kind = kind, Mark = mark, Stream = stream, A = version, Data = ReadBytes(r) };
            case ReplicatedKind.Delete or ReplicatedKind.Truncate or ReplicatedKind.StreamMeta or ReplicatedKind.Forget:
                return new ReplicatedCommand { Kind = kind, Mark = mark, Stream = stream, A = ReadOptional(r), B = ReadOptional(r) };
            default:
                throw new InvalidDataException($"unknown replicated command kind {(byte)kind}");
        }
    }

    private static void WriteBytes(BinaryWriter w, ReadOnlySpan<byte> bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader r) => r.ReadBytes(r.ReadInt32());

    private static void WriteUlid(BinaryWriter w, Ulid? id)
    {
        w.Write(id.HasValue);
        if (id is { } value)
        {
            w.Write(value.ToByteArray());
        }
    }

    private static Ulid? ReadUlid(BinaryReader r) => r.ReadBoolean() ? new Ulid(r.ReadBytes(16)) : null;

    private static void WriteOptional(BinaryWriter w, long? value)
    {
        w.Write(value.HasValue);
        w.Write(value ?? 0);
    }

    private static long? ReadOptional(BinaryReader r)
    {
        bool has = r.ReadBoolean();
        long value = r.ReadInt64();
        return has ? value : null;
    }
}
