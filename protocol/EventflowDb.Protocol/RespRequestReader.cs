using System.Buffers;

namespace EventflowDb.Protocol;

/// <summary>
/// Incremental request reader: RESP arrays of bulk strings (what clients send) and inline commands
/// (plain text lines, as telnet and redis-cli send them). Frames may be split anywhere.
/// </summary>
/// <remarks>
/// The reader holds only the limits; all per-connection state lives in the <see cref="RespRequest"/>,
/// so one reader may serve every connection.
/// </remarks>
public sealed partial class RespRequestReader
{
    // A request split across segments is copied into scratch at least this much at a time, doubling after,
    // so discovering its argument headers one by one costs linear time.
    private const int MinimumCopyBytes = 1024;

    private readonly int _maxBulkLength;
    private readonly int _maxArguments;
    private readonly int _maxInlineLength;
    private readonly long _maxRequestBytes;
    private readonly string? _limitError;

    /// <summary>Creates a reader enforcing <paramref name="limits"/>.</summary>
    public RespRequestReader(RespLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfNegative(limits.MaxBulkLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxArguments);
        ArgumentOutOfRangeException.ThrowIfNegative(limits.MaxInlineLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxRequestBytes);

        // A request split across segments is copied into one array, which bounds what can be accepted.
        int largestArray = Array.MaxLength - 16;
        _maxBulkLength = Math.Min(limits.MaxBulkLength, largestArray);
        _maxArguments = limits.MaxArguments;
        _maxInlineLength = Math.Min(limits.MaxInlineLength, largestArray);
        _maxRequestBytes = Math.Min(limits.MaxRequestBytes, largestArray);
        _limitError = limits.LimitError;
    }

    private enum FrameStatus
    {
        Complete,
        Skipped,
        Incomplete,
        Error,
    }

    /// <summary>
    /// Reads one request from the start of <paramref name="buffer"/>.
    /// Complete: <paramref name="request"/> holds it and <paramref name="consumed"/> is the position after it.
    /// Incomplete: more data is needed (<paramref name="consumed"/> = buffer.Start).
    /// ProtocolError: <paramref name="error"/> says why, for "-ERR Protocol error: {error}".
    /// Empty inline lines and empty arrays (*0, *-1) are skipped, as Redis does.
    /// </summary>
    /// <remarks>
    /// Skipped empty requests are never reported on their own: on Complete, <paramref name="consumed"/> is past them
    /// and the request after them; on Incomplete they stay in the buffer (<paramref name="consumed"/> = buffer.Start)
    /// and the request remembers them, so they are not scanned again. On ProtocolError <paramref name="consumed"/>
    /// is buffer.Start and <paramref name="request"/> is empty.
    /// </remarks>
    public RespReadStatus TryRead(in ReadOnlySequence<byte> buffer, RespRequest request, out SequencePosition consumed, out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        consumed = buffer.Start;
        error = null;

        long skipped = 0;
        int copied = 0;
        if (request.TryGetPending(buffer.Start, out PendingRead pending))
        {
            if (buffer.Length < pending.TotalBytesNeeded)
            {
                request.Reset();
                return RespReadStatus.Incomplete;
            }

            skipped = pending.SkippedBytes;
            copied = pending.CopiedBytes;
        }

        ReadOnlySequence<byte> rest = skipped == 0 ? buffer : buffer.Slice(skipped);
        while (true)
        {
            FrameStatus status;
            int frameLength;
            long bytesNeeded = 1;
            string? frameError = null;
            if (rest.IsEmpty)
            {
                status = FrameStatus.Incomplete;
                frameLength = 0;
            }
            else if (copied == 0)
            {
                // Fast path: the request lies in the first segment, its arguments are slices of it.
                ReadOnlyMemory<byte> first = rest.First;
                status = ParseFrame(first.Span, first, frameIsScratch: false, request, out frameLength, out bytesNeeded, out frameError);
                if (status == FrameStatus.Incomplete && !rest.IsSingleSegment && bytesNeeded <= rest.Length)
                {
                    status = ParseCopied(rest, request, ref copied, ref bytesNeeded, out frameLength, out frameError);
                }
            }
            else
            {
                status = ParseCopied(rest, request, ref copied, ref bytesNeeded, out frameLength, out frameError);
            }

            switch (status)
            {
                case FrameStatus.Complete:
                    request.ClearPending();
                    consumed = rest.GetPosition(frameLength);
                    return RespReadStatus.Complete;
                case FrameStatus.Skipped:
                    rest = rest.Slice(frameLength);
                    skipped += frameLength;
                    copied = 0;
                    continue;
                case FrameStatus.Incomplete:
                    request.Reset();
                    request.SetPending(buffer.Start, skipped, skipped + bytesNeeded, copied);
                    return RespReadStatus.Incomplete;
                default:
                    request.Reset();
                    request.ClearPending();
                    error = frameError;
                    return RespReadStatus.ProtocolError;
            }
        }
    }

    /// <summary>
    /// Slow path for a request split across segments: copies it (and only about as much as it needs)
    /// into the request's scratch buffer and parses it there.
    /// </summary>
    private FrameStatus ParseCopied(in ReadOnlySequence<byte> rest, RespRequest request, ref int copied, ref long bytesNeeded, out int frameLength, out string? error)
    {
        while (true)
        {
            long target = Math.Max(bytesNeeded, Math.Max(copied * 2L, MinimumCopyBytes));
            target = Math.Min(target, Math.Min(rest.Length, Array.MaxLength));
            if (target > copied)
            {
                byte[] destination = request.EnsureScratch((int)target, copied);
                rest.Slice(copied, target - copied).CopyTo(destination.AsSpan(copied));
                copied = (int)target;
            }

            byte[] scratch = request.Scratch;
            FrameStatus status = ParseFrame(scratch.AsSpan(0, copied), scratch.AsMemory(0, copied), frameIsScratch: true, request, out frameLength, out bytesNeeded, out error);
            if (status != FrameStatus.Incomplete || copied == rest.Length || bytesNeeded > rest.Length)
            {
                return status;
            }
        }
    }

    /// <summary>
    /// Parses one frame at the start of <paramref name="frame"/>, whose bytes are <paramref name="source"/>.
    /// Complete and Skipped set <paramref name="frameLength"/>; Incomplete sets <paramref name="bytesNeeded"/>,
    /// a lower bound (greater than the frame's length) on the bytes the frame needs.
    /// </summary>
    /// <summary>The error for a request over a limit: <paramref name="specific"/>, or the configured <see cref="RespLimits.LimitError"/>.</summary>
    private string LimitError(string specific) => _limitError ?? specific;

    private FrameStatus ParseFrame(ReadOnlySpan<byte> frame, ReadOnlyMemory<byte> source, bool frameIsScratch, RespRequest request, out int frameLength, out long bytesNeeded, out string? error)
    {
        if (frame.IsEmpty)
        {
            frameLength = 0;
            bytesNeeded = 1;
            error = null;
            return FrameStatus.Incomplete;
        }

        return frame[0] == (byte)'*'
            ? ParseMultibulk(frame, source, request, out frameLength, out bytesNeeded, out error)
            : ParseInline(frame, source, frameIsScratch, request, out frameLength, out bytesNeeded, out error);
    }
}
