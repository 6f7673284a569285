using System.Buffers;

namespace EventflowDb.Server.Network;

/// <summary>
/// Holds a request too large for the receive pipe while it arrives. The pipe pauses the socket at
/// <see cref="ServerContext.ReceivePipeOptions"/>' small threshold, so a client that sends faster than its session
/// handles requests (or that is waiting on a commit) cannot make the server buffer more than that. A request
/// larger than <see cref="Threshold"/> is moved here and grows only as its bytes arrive, up to the request size
/// limits the reader already checked; what follows it on the wire is read from here too until the buffer empties.
/// </summary>
internal sealed class LargeRequestBuffer
{
    /// <summary>An incomplete request holding at least this much of the receive pipe moves here.</summary>
    public const int Threshold = 256 * 1024;

    private byte[]? _bytes;
    private int _start;
    private int _end;

    public bool IsActive => _bytes is not null;

    /// <summary>The bytes not yet consumed, as one segment.</summary>
    public ReadOnlySequence<byte> Data => _bytes is null ? ReadOnlySequence<byte>.Empty : new(_bytes, _start, _end - _start);

    /// <summary>Appends <paramref name="received"/>; the caller then consumes it from the pipe.</summary>
    public void Append(in ReadOnlySequence<byte> received)
    {
        long needed = (long)(_end - _start) + received.Length;
        if (needed > Array.MaxLength)
        {
            throw new InvalidOperationException("a request larger than an array reached the large-request buffer");
        }

        if (_bytes is null || _end + received.Length > _bytes.Length)
        {
            // Keep what is unconsumed at the front; grow by doubling so a request arriving in small reads costs linear time.
            byte[] target = _bytes is not null && needed <= _bytes.Length
                ? _bytes
                : GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(Threshold * 2L, (_bytes?.Length ?? 0) * 2L))));
            if (_bytes is not null)
            {
                Buffer.BlockCopy(_bytes, _start, target, 0, _end - _start);
            }

            _end -= _start;
            _start = 0;
            _bytes = target;
        }

        received.CopyTo(_bytes.AsSpan(_end));
        _end += (int)received.Length;
    }

    /// <summary>Drops everything before <paramref name="consumed"/> (a position in <see cref="Data"/>); once nothing is left the buffer is released.</summary>
    public void ConsumeTo(SequencePosition consumed)
    {
        if (_bytes is null)
        {
            return;
        }

        _start += (int)Data.Slice(0, consumed).Length;
        if (_start >= _end)
        {
            Release();
        }
    }

    public void Release()
    {
        _bytes = null;
        _start = 0;
        _end = 0;
    }
}
