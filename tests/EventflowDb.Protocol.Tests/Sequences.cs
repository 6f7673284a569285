using System.Buffers;

namespace EventflowDb.Protocol.Tests;

/// <summary>Builds multi-segment sequences, the way a pipe hands over data that arrived in pieces.</summary>
internal static class Sequences
{
    /// <summary>One segment per chunk (empty chunks make empty segments).</summary>
    public static ReadOnlySequence<byte> FromChunks(IReadOnlyList<byte[]> chunks)
    {
        if (chunks.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(chunks[0], 0);
        Segment last = first;
        for (int i = 1; i < chunks.Count; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Two segments, split at <paramref name="offset"/>.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] data, int offset) =>
        FromChunks([data[..offset], data[offset..]]);

    /// <summary>Segments of <paramref name="size"/> bytes (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> InPiecesOf(byte[] data, int size) =>
        FromChunks(data.Chunk(size).ToArray());

    /// <summary>Splits <paramref name="data"/> at the given cut points (sorted, duplicates give empty segments).</summary>
    public static ReadOnlySequence<byte> CutAt(byte[] data, IEnumerable<int> cuts)
    {
        var chunks = new List<byte[]>();
        int start = 0;
        foreach (int cut in cuts.Order())
        {
            chunks.Add(data[start..cut]);
            start = cut;
        }

        chunks.Add(data[start..]);
        return FromChunks(chunks);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
