using System.Buffers;
using EventflowDb.Protocol;

namespace EventflowDb.Fuzz;

/// <summary>
/// Fuzz target "reader": the RESP request reader (arrays of bulk strings and inline commands).
/// The input is a byte stream from a client. It is read twice, the way a session reads it:
/// once whole, in one buffer segment, and once arriving in small pieces (sizes drawn from the input itself),
/// each piece a segment of its own, reading after every piece with the same <see cref="RespRequest"/>.
/// Both must yield the same requests and end the same way (a protocol error, or an incomplete request left over);
/// every read must make progress and keep the limits. Any exception, or a broken property
/// (<see cref="FuzzFindingException"/>), is a finding.
/// </summary>
/// <remarks>
/// Small limits make every limit branch reachable by small inputs. The input is also read once with the
/// server's default limits, whole, where only an exception counts.
/// </remarks>
public static class ReaderTarget
{
    /// <summary>The limits the differential check runs with: small enough for a fuzzer to cross each.</summary>
    public static RespLimits SmallLimits { get; } = new()
    {
        MaxBulkLength = 64,
        MaxArguments = 8,
        MaxInlineLength = 96,
        MaxRequestBytes = 256,
    };

    private static readonly RespRequestReader SmallReader = new(SmallLimits);
    private static readonly RespRequestReader DefaultReader = new(new RespLimits());

    /// <summary>Runs one input; returns how the whole-buffer read ended. Throws on a finding.</summary>
    public static Outcome Run(ReadOnlySpan<byte> input)
    {
        byte[] data = input.ToArray();
        var whole = ReadWhole(SmallReader, SmallLimits, data);
        var pieces = ReadInPieces(SmallReader, SmallLimits, data, padUntilError: whole.Error is not null);
        Compare(whole, pieces);
        ReadWhole(DefaultReader, new RespLimits(), data);
        return whole;
    }

    private static Outcome ReadWhole(RespRequestReader reader, RespLimits limits, byte[] data)
    {
        var outcome = new Outcome();
        var request = new RespRequest();
        var buffer = new ReadOnlySequence<byte>(data);
        while (true)
        {
            var status = reader.TryRead(buffer, request, out var consumed, out string? error);
            switch (status)
            {
                case RespReadStatus.Complete:
                    var rest = buffer.Slice(consumed);
                    Check(rest.Length < buffer.Length, "a complete read consumed nothing");
                    outcome.Requests.Add(Capture(request, limits));
                    buffer = rest;
                    if (buffer.IsEmpty)
                    {
                        request.TrimExcess();
                    }

                    continue;
                case RespReadStatus.Incomplete:
                    Check(consumed.Equals(buffer.Start), "an incomplete read moved the position");
                    Check(request.Count == 0, "an incomplete read left arguments");
                    var again = reader.TryRead(buffer, request, out _, out _);
                    Check(again == RespReadStatus.Incomplete, $"reading the same incomplete bytes again gave {again}");
                    outcome.Leftover = buffer.Length;
                    return outcome;
                case RespReadStatus.ProtocolError:
                    Check(error is { Length: > 0 }, "a protocol error without a message");
                    Check(request.Count == 0, "a protocol error left arguments");
                    outcome.Error = error;
                    return outcome;
                default:
                    throw new FuzzFindingException($"unknown status {status}");
            }
        }
    }

    /// <summary>Delivers the input in pieces, reading after each as a session does when bytes arrive.</summary>
    /// <remarks>
    /// A reader that has learned how many bytes a request needs at least waits for them before it looks again,
    /// so bad bytes that arrive in a later piece may be reported only once that many have arrived, where the
    /// whole buffer reports them at once. So when the whole read ended in an error, padding follows the input
    /// (as more bytes from the client would) until the reader decides: it must then report the same error.
    /// </remarks>
    private static Outcome ReadInPieces(RespRequestReader reader, RespLimits limits, byte[] data, bool padUntilError)
    {
        const int MaxPadding = 4096;
        if (padUntilError)
        {
            data = [.. data, .. Enumerable.Repeat((byte)'x', MaxPadding)];
        }

        var outcome = new Outcome();
        var request = new RespRequest();
        var sizes = new PieceSizes(data);
        Piece? first = null;
        Piece? last = null;
        SequencePosition start = default;
        int offset = 0;
        while (offset < data.Length)
        {
            int size = Math.Min(sizes.Next(), data.Length - offset);
            last = new Piece(data.AsMemory(offset, size).ToArray(), last);
            offset += size;
            if (first is null)
            {
                first = last;
                start = new SequencePosition(first, 0);
            }

            var buffer = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length).Slice(start);
            while (!buffer.IsEmpty)
            {
                var status = reader.TryRead(buffer, request, out var consumed, out string? error);
                if (status == RespReadStatus.Incomplete)
                {
                    break;
                }

                if (status == RespReadStatus.ProtocolError)
                {
                    outcome.Error = error;
                    return outcome;
                }

                outcome.Requests.Add(Capture(request, limits));
                buffer = buffer.Slice(consumed);
                start = buffer.Start;
                if (buffer.IsEmpty)
                {
                    request.TrimExcess();
                }
            }

            outcome.Leftover = buffer.Length;
        }

        return outcome;
    }

    private static Captured Capture(RespRequest request, RespLimits limits)
    {
        Check(request.Count > 0, "a complete request without arguments");
        Check(request.Count <= limits.MaxArguments, $"{request.Count} arguments, over the limit of {limits.MaxArguments}");
        var arguments = new byte[request.Count][];
        for (int i = 0; i < request.Count; i++)
        {
            var argument = request[i];
            int limit = request.IsInline ? limits.MaxInlineLength : limits.MaxBulkLength;
            Check(argument.Length <= limit, $"argument {i} is {argument.Length} bytes, over the limit of {limit}");
            Check(request.GetMemory(i).Span.SequenceEqual(argument), $"argument {i} differs as memory and as span");
            arguments[i] = argument.ToArray();
        }

        return new Captured(request.IsInline, arguments);
    }

    private static void Compare(Outcome whole, Outcome pieces)
    {
        int common = Math.Min(whole.Requests.Count, pieces.Requests.Count);
        for (int i = 0; i < common; i++)
        {
            Check(whole.Requests[i].SameAs(pieces.Requests[i]), $"request {i} differs: whole {whole.Requests[i]}, in pieces {pieces.Requests[i]}");
        }

        Check(whole.Requests.Count == pieces.Requests.Count, $"{whole.Requests.Count} requests whole, {pieces.Requests.Count} in pieces");
        Check(whole.Error == pieces.Error, $"whole ended with error '{whole.Error}', in pieces with '{pieces.Error}'");
        if (whole.Error is null)
        {
            Check(whole.Leftover == pieces.Leftover, $"whole left {whole.Leftover} bytes, in pieces {pieces.Leftover}");
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzFindingException(message);
        }
    }

    /// <summary>How reading an input ended: the requests read, then an error or the bytes of an incomplete request.</summary>
    public sealed class Outcome
    {
        public List<Captured> Requests { get; } = [];

        public string? Error { get; set; }

        public long Leftover { get; set; }
    }

    /// <summary>One request as read: inline or not, and a copy of its arguments.</summary>
    public sealed record Captured(bool IsInline, byte[][] Arguments)
    {
        public bool SameAs(Captured other) =>
            IsInline == other.IsInline && Arguments.Length == other.Arguments.Length &&
            Arguments.Zip(other.Arguments).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second));

        public override string ToString() =>
            $"{(IsInline ? "inline" : "array")} [{string.Join(", ", Arguments.Select(a => Convert.ToHexString(a)))}]";
    }

    /// <summary>One received piece: a buffer segment of its own, as a pipe hands them out.</summary>
    private sealed class Piece : ReadOnlySequenceSegment<byte>
    {
        public Piece(ReadOnlyMemory<byte> memory, Piece? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>Piece sizes drawn from the input (so a finding repeats): often 1 byte, else up to 40.</summary>
    private struct PieceSizes(byte[] data)
    {
        private ulong _state = Seed(data);

        public int Next()
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            return (_state % 4) == 0 ? 1 : 1 + (int)((_state >> 8) % 40);
        }

        private static ulong Seed(byte[] data)
        {
            ulong hash = 14695981039346656037UL;
            foreach (byte b in data)
            {
                hash = (hash ^ b) * 1099511628211UL;
            }

            return hash | 1;
        }
    }
}
