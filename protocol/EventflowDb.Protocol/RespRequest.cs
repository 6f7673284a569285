using System.Buffers;
using System.Text;

namespace EventflowDb.Protocol;

/// <summary>
/// One parsed request. Arguments are slices of the receive buffer (or, for a request split across
/// buffer segments, of one reusable scratch buffer), valid until the receive buffer is advanced
/// or the next request is read into this instance. Reused per connection: reading does not allocate.
/// </summary>
/// <remarks>
/// After <see cref="RespReadStatus.Incomplete"/> or <see cref="RespReadStatus.ProtocolError"/>,
/// <see cref="Count"/> is 0. After <see cref="RespReadStatus.Incomplete"/>, the next read into this
/// instance must be given the same unconsumed bytes (followed by any new ones), as a pipe does: the
/// request remembers how far it got so a large request arriving in pieces is not rescanned from its start.
/// Not thread-safe; use one instance per connection.
/// </remarks>
public sealed class RespRequest
{
    private const int InitialArgumentCapacity = 8;
    private const int MinimumScratchBytes = 4096;
    private const int RetainedScratchBytes = 64 * 1024;

    private ReadOnlyMemory<byte> _source;

    // Start and length of argument i in _source are at [2i] and [2i + 1]: one array, one bounds check.
    private int[] _argumentBounds = new int[InitialArgumentCapacity * 2];
    private int _count;
    private byte[] _scratch = [];
    private PendingRead _pending;

    /// <summary>Number of arguments, the command name included.</summary>
    public int Count => _count;

    /// <summary>True when the request came as an inline (plain text) command.</summary>
    public bool IsInline { get; private set; }

    /// <summary>Bytes of argument <paramref name="index"/> (0 is the command name).</summary>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            int bounds = BoundsIndex(index);
            return _source.Span.Slice(_argumentBounds[bounds], _argumentBounds[bounds + 1]);
        }
    }

    /// <summary>Argument <paramref name="index"/> as memory (same lifetime as the span).</summary>
    public ReadOnlyMemory<byte> GetMemory(int index)
    {
        int bounds = BoundsIndex(index);
        return _source.Slice(_argumentBounds[bounds], _argumentBounds[bounds + 1]);
    }

    /// <summary>Argument <paramref name="index"/> decoded as UTF-8 (allocates).</summary>
    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);

    /// <summary>True when argument <paramref name="index"/> equals <paramref name="upperAscii"/> ignoring ASCII case. <paramref name="upperAscii"/> must be upper-case.</summary>
    public bool EqualsIgnoreCase(int index, ReadOnlySpan<byte> upperAscii)
    {
        ReadOnlySpan<byte> argument = this[index];
        if (argument.Length != upperAscii.Length)
        {
            return false;
        }

        for (int i = 0; i < argument.Length; i++)
        {
            uint value = argument[i];

            // Fold a-z to A-Z; every other byte must match exactly.
            if (value - 'a' <= 'z' - 'a')
            {
                value -= 'a' - 'A';
            }

            if (value != upperAscii[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Parses argument <paramref name="index"/> as a base-10 64-bit integer: an optional '-' then one or more
    /// ASCII digits (leading zeros allowed), nothing else (no '+', no spaces). False on overflow or garbage.
    /// </summary>
    public bool TryGetInt64(int index, out long value) => RespInteger.TryParse(this[index], out value);

    /// <summary>
    /// Returns the scratch buffer a large request split across buffer segments made this instance grow to
    /// (it is kept for reuse otherwise). Call between requests, e.g. when the connection is idle:
    /// it invalidates the current arguments.
    /// </summary>
    public void TrimExcess()
    {
        Reset();
        _pending = default;
        if (_scratch.Length > RetainedScratchBytes)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = [];
        }
    }

    /// <summary>The scratch buffer; its first bytes may hold a copy of the request being read.</summary>
    internal byte[] Scratch => _scratch;

    /// <summary>Starts a new request whose argument offsets are relative to <paramref name="source"/>.</summary>
    internal void Begin(ReadOnlyMemory<byte> source, bool isInline)
    {
        _source = source;
        IsInline = isInline;
        _count = 0;
    }

    internal void AddArgument(int start, int length)
    {
        int bounds = _count * 2;
        if (bounds == _argumentBounds.Length)
        {
            // Grows only for a request with more arguments than any before it.
            Array.Resize(ref _argumentBounds, _argumentBounds.Length * 2);
        }

        _argumentBounds[bounds] = start;
        _argumentBounds[bounds + 1] = length;
        _count++;
    }

    /// <summary>Forgets the arguments (after an incomplete read or an error).</summary>
    internal void Reset()
    {
        _count = 0;
        _source = default;
    }

    /// <summary>Makes the scratch buffer hold at least <paramref name="capacity"/> bytes, keeping its first <paramref name="preserve"/> bytes.</summary>
    internal byte[] EnsureScratch(int capacity, int preserve)
    {
        if (_scratch.Length < capacity)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, MinimumScratchBytes));
            _scratch.AsSpan(0, preserve).CopyTo(larger);
            if (_scratch.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
            }

            _scratch = larger;
        }

        return _scratch;
    }

    internal void SetPending(SequencePosition start, long skippedBytes, long totalBytesNeeded, int copiedBytes) =>
        _pending = new PendingRead(start, skippedBytes, totalBytesNeeded, copiedBytes, IsSet: true);

    internal void ClearPending() => _pending = default;

    /// <summary>What the last incomplete read learned, when <paramref name="start"/> is where that read started.</summary>
    internal bool TryGetPending(SequencePosition start, out PendingRead pending)
    {
        pending = _pending;
        return pending.IsSet && pending.Start.Equals(start);
    }

    private int BoundsIndex(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndexOutOfRange(index);
        }

        return index * 2;
    }

    private static void ThrowIndexOutOfRange(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, "No such argument in this request.");
}
