using System.Buffers;
using System.Buffers.Binary;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// The payload of a Raft entry: one encoded <see cref="ReplicatedCommand"/>, or a batch of them that the leader gathered
/// while the previous entry was being replicated. A batch costs one append, one replication round and one apply call
/// on every member instead of one per write; its commands keep their own stamps and are applied in order, each under
/// the same rules as a single command.
/// </summary>
/// <remarks>
/// Batch format (little-endian): kind byte <see cref="ReplicatedKind.Batch"/>, command count (int32), then per command
/// its length (int32) and its encoding (<see cref="ReplicatedCommand.Encode"/>). An entry of one command is that
/// command's encoding alone, as before batching existed, so older logs read the same.
/// </remarks>
internal static class ReplicatedBatch
{
    public static byte[] Encode(IReadOnlyList<byte[]> commands)
    {
        int size = 1 + 4;
        foreach (var c in commands)
        {
            size += 4 + c.Length;
        }

        var bytes = new byte[size];
        bytes[0] = (byte)ReplicatedKind.Batch;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), commands.Count);
        int at = 5;
        foreach (var c in commands)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), c.Length);
            c.CopyTo(bytes, at + 4);
            at += 4 + c.Length;
        }

        return bytes;
    }

    /// <summary>The commands of an entry, in order (one for a plain command entry).</summary>
    public static IReadOnlyList<ReplicatedCommand> Decode(ReadOnlySequence<byte> payload)
    {
        byte[] bytes = payload.ToArray();
        if (bytes.Length == 0 || bytes[0] != (byte)ReplicatedKind.Batch)
        {
            return [ReplicatedCommand.Decode(bytes, 0, bytes.Length)];
        }

        if (bytes.Length < 5)
        {
            throw new InvalidDataException("truncated batch header");
        }

        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(1));
        if (count < 1 || count > bytes.Length)
        {
            throw new InvalidDataException($"bad batch count {count}");
        }

        var commands = new ReplicatedCommand[count];
        int at = 5;
        for (int i = 0; i < count; i++)
        {
            if (at + 4 > bytes.Length)
            {
                throw new InvalidDataException("truncated batch");
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length < 1 || length > bytes.Length - at - 4 || bytes[at + 4] == (byte)ReplicatedKind.Batch)
            {
                throw new InvalidDataException($"bad batch command {i} (length {length})");
            }

            commands[i] = ReplicatedCommand.Decode(bytes, at + 4, length);
            at += 4 + length;
        }

        return commands;
    }
}
