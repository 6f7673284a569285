using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Network;
using EventflowDb.Storage;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace EventflowDb.Fuzz;

/// <summary>
/// Fuzz target "session": a whole <see cref="ClientSession"/>, as the server runs one per connection, over an
/// in-memory pipe pair against a real store in a directory of its own, so every command's argument parsing
/// (ADD, GET, GETALL, GROUP, FOLLOW, SUBSCRIBE, ...) is reached. The input is what a client sends before it
/// closes its side, all at once or in pieces.
/// </summary>
/// <remarks>
/// <para>Findings (thrown, so afl-fuzz records a crash): an exception escaping the session; a reply that is
/// not well-formed RESP, or cut short; fewer replies than the input holds whole requests (up to a QUIT); an
/// <c>ERR internal error</c> reply or an Error logged while the input ran (a command failing on something other
/// than bad input: the session turns such exceptions into that reply, so they never escape on their own).
/// A session that never ends is a hang: afl-fuzz's <c>-t</c> finds it.</para>
/// <para>A session whose requests are all answered ends by itself when the input ends. A request that waits
/// (<c>BLOCK 0</c>, a long <c>BLOCK</c>) may keep it open: after a grace period (<see cref="DefaultGrace"/>) the session is asked to
/// stop, as at server shutdown, which must end it.</para>
/// <para>The store is shared by every input of a run (opening one costs far more than a session), so state
/// carries over between inputs; <see cref="MaxInputsPerStore"/> bounds how much it grows.</para>
/// </remarks>
internal sealed class SessionTarget : IAsyncDisposable
{
    /// <summary>How long a session may keep waiting after its input ended before it is asked to stop (the harness's).</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromMilliseconds(200);

    /// <summary>After this many inputs the store is deleted and opened anew, so that a long run stays small.</summary>
    public const int MaxInputsPerStore = 5000;

    private readonly string _directory;
    private readonly TimeSpan _grace;
    private readonly ErrorSink _errors = new();
    private readonly Logger _logger;
    private FasterEventStore? _store;
    private ServerContext? _context;
    private int _inputs;
    private int _probes;

    private SessionTarget(string directory, TimeSpan grace)
    {
        _directory = directory;
        _grace = grace;
        _logger = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Sink(_errors).CreateLogger();
    }

    /// <summary>Opens a store in a new directory under <paramref name="parent"/> (deleted on dispose).</summary>
    public static async Task<SessionTarget> CreateAsync(string parent, TimeSpan? grace = null)
    {
        var target = new SessionTarget(Path.Combine(parent, $"efdb-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}"), grace ?? DefaultGrace);
        await target.OpenAsync().ConfigureAwait(false);
        return target;
    }

    /// <summary>Runs one input through a new session; throws on a finding.</summary>
    public async Task<SessionResult> RunAsync(ReadOnlyMemory<byte> input)
    {
        if (++_inputs > MaxInputsPerStore)
        {
            await CloseAsync().ConfigureAwait(false);
            await OpenAsync().ConfigureAwait(false);
            _inputs = 1;
        }

        var result = await RunSessionAsync(input).ConfigureAwait(false);
        var internalError = result.Replies.FirstOrDefault(r => r.Type is RespType.Error && (r.Text ?? "").StartsWith("ERR internal error", StringComparison.Ordinal));
        if (internalError is not null)
        {
            throw new FuzzFindingException($"a command failed on an unexpected exception: {internalError.Text}");
        }

        int requests = RequestsToAnswer(_context!.RequestReader, input);
        if (result.Replies.Count < requests && !LooksLikeHttp(input.Span))
        {
            throw new FuzzFindingException($"{requests} requests to answer, {result.Replies.Count} replies: {string.Join(" | ", result.Replies.Take(20))}");
        }

        return result;
    }

    /// <summary>A normal ADD and GET of a new stream, through a new session: the store must still answer them.</summary>
    public async Task ProbeAsync()
    {
        string stream = $"probe-{Environment.ProcessId}-{++_probes}";
        byte[] input = Encoding.UTF8.GetBytes(
            $"*5\r\n$3\r\nADD\r\n${stream.Length}\r\n{stream}\r\n$9\r\nno_stream\r\n$5\r\nprobe\r\n$7\r\n{{\"n\":1}}\r\n" +
            $"*2\r\n$3\r\nGET\r\n${stream.Length}\r\n{stream}\r\n");
        var result = await RunSessionAsync(input).ConfigureAwait(false);
        if (result.Replies.Count != 2 ||
            result.Replies[0] is not { Type: RespType.Array, Items.Count: 1 } ||
            result.Replies[1] is not { Type: RespType.Array, Items.Count: 1 } ||
            !result.Replies[1].Items[0].Text!.Contains($"\"stream\":\"{stream}\"", StringComparison.Ordinal))
        {
            throw new FuzzFindingException($"the store no longer answers a normal ADD and GET: {string.Join(" | ", result.Replies)}");
        }
    }

    /// <summary>
    /// The whole requests in <paramref name="input"/> up to and with the first QUIT: each must get a reply (subscription
    /// messages only add to them). A protocol error is not counted: one the reader finds only once more bytes arrive
    /// is never reported when the client closes first.
    /// </summary>
    private static int RequestsToAnswer(RespRequestReader reader, ReadOnlyMemory<byte> input)
    {
        var request = new RespRequest();
        var buffer = new ReadOnlySequence<byte>(input);
        int count = 0;
        while (reader.TryRead(buffer, request, out var consumed, out _) == RespReadStatus.Complete)
        {
            count++;
            if (request.EqualsIgnoreCase(0, "QUIT"u8))
            {
                break;
            }

            buffer = buffer.Slice(consumed);
        }

        return count;
    }

    /// <summary>SPEC.md v2 "Cross-protocol": a first line that looks like HTTP may close the connection without a reply.</summary>
    private static bool LooksLikeHttp(ReadOnlySpan<byte> input)
    {
        int end = input.IndexOf((byte)'\n');
        var line = end < 0 ? input : input[..end];
        return line.StartsWith("POST "u8) || line.StartsWith("Host:"u8) || (line.StartsWith("GET "u8) && line.IndexOf("HTTP/"u8) >= 0);
    }

    private async Task<SessionResult> RunSessionAsync(ReadOnlyMemory<byte> input)
    {
        var context = _context!;
        _errors.Clear();
        var receive = new Pipe(ServerContext.ReceivePipeOptions());
        var send = new Pipe(ServerContext.SendPipeOptions(context.Options));
        using var session = new ClientSession(context, new DuplexPipe(receive.Reader, send.Writer), remote: null);
        var run = session.RunAsync();
        var replies = Task.Run(() => ReadRepliesAsync(send.Reader));

        // Sent the way a client's bytes arrive (all at once, or in pieces the session reads one by one), then the
        // client closes its side.
        foreach (var piece in Pieces(input))
        {
            await receive.Writer.WriteAsync(piece).ConfigureAwait(false);
        }

        await receive.Writer.CompleteAsync().ConfigureAwait(false);

        bool stopped = false;
        if (await Task.WhenAny(run, Task.Delay(_grace)).ConfigureAwait(false) != run)
        {
            stopped = true;
            session.RequestStop();
        }

        await run.ConfigureAwait(false);
        var values = await replies.ConfigureAwait(false);
        var error = _errors.Take();
        if (error is not null)
        {
            throw new FuzzFindingException($"the server logged an error: {error.RenderMessage()}", error.Exception ?? new InvalidOperationException("(no exception)"));
        }

        return new SessionResult(values, stopped);
    }

    /// <summary>
    /// Half of the inputs (chosen by a hash of the input, so a finding repeats) arrive whole; the others in pieces of
    /// 1 to 64 bytes, each written and flushed on its own, so the session reads a request split across reads.
    /// </summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(ReadOnlyMemory<byte> input)
    {
        ulong state = 14695981039346656037UL;
        foreach (byte b in input.Span)
        {
            state = (state ^ b) * 1099511628211UL;
        }

        state |= 1;
        if ((state & 2) == 0)
        {
            yield return input;
            yield break;
        }

        int offset = 0;
        while (offset < input.Length)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            int size = Math.Min(input.Length - offset, 1 + (int)((state >> 8) % 64));
            yield return input.Slice(offset, size);
            offset += size;
        }
    }

    /// <summary>Reads the session's output to its end as whole RESP values; a malformed or cut reply is a finding.</summary>
    private static async Task<List<RespValue>> ReadRepliesAsync(PipeReader output)
    {
        var values = new List<RespValue>();
        while (true)
        {
            var read = await output.ReadAsync().ConfigureAwait(false);
            var buffer = read.Buffer;
            while (true)
            {
                bool complete;
                RespValue? value;
                SequencePosition consumed;
                try
                {
                    complete = RespValue.TryRead(buffer, out value, out consumed);
                }
                catch (FormatException e)
                {
                    throw new FuzzFindingException($"a malformed reply after {values.Count} replies: {e.Message}", e);
                }

                if (!complete)
                {
                    break;
                }

                values.Add(value!);
                buffer = buffer.Slice(consumed);
            }

            if (read.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    throw new FuzzFindingException($"the output ends inside a reply ({buffer.Length} bytes) after {values.Count} replies");
                }

                await output.CompleteAsync().ConfigureAwait(false);
                return values;
            }

            output.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task OpenAsync()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        var storeOptions = new StoreOptions
        {
            DataDirectory = _directory,
            DirectIo = false,
            PrefillLogSegments = false,
            CheckpointInterval = TimeSpan.FromMinutes(10),
            LogPageSizeBits = 16,
            LogMemorySizeBits = 20,
            LogSegmentSizeBits = 22,
            IndexBucketBits = 12,
            IndexPageSizeBits = 14,
            IndexMemorySizeBits = 20,
            IndexSegmentSizeBits = 22,
        };
        _store = await FasterEventStore.OpenAsync(storeOptions, _logger).ConfigureAwait(false);
        var options = new ServerOptions { DataDirectory = _directory, DirectIo = false };
        _context = new ServerContext(options, _store, CommandCatalog.Create(storeOptions.MaxAppendBytes), _logger);
    }

    private async Task CloseAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
            _store = null;
        }

        _context = null;
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await _logger.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind: it lives under a temporary directory.
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Keeps the first event logged at Error or above.</summary>
    private sealed class ErrorSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent)
        {
            if (logEvent.Level >= LogEventLevel.Error)
            {
                _events.Enqueue(logEvent);
            }
        }

        public void Clear() => _events.Clear();

        public LogEvent? Take() => _events.TryPeek(out var first) ? first : null;
    }
}

/// <summary>What a session answered, and whether it had to be asked to stop after its input ended.</summary>
internal sealed record SessionResult(List<RespValue> Replies, bool StoppedAfterGrace);
