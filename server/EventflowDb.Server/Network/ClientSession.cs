using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using EventflowDb.Protocol;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Configuration;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;
using EventflowDb.Storage;

namespace EventflowDb.Server.Network;

/// <summary>
/// One connection: reads requests from the socket, dispatches each to its command, and writes replies
/// in request order. ADDs are pipelined: a run of ADDs is submitted to the store together (so they share
/// a group commit) and their replies are written as each becomes durable, before any later reply.
/// Subscription frames come from the connection's <see cref="SubscriptionPump"/>, which writes only while it
/// holds <see cref="WriteLock"/>; the read loop holds it while it handles a batch of requests, so frames go
/// out between replies, never inside one.
/// Unsent output (<see cref="OutputAccounting"/>) is checked against the client's <c>--client-output-buffer-limit</c>
/// class at every flush and once a second by the server's sweep; a client over it is aborted (<see cref="Abort"/>):
/// pending flushes are cancelled and the socket is reset, so nothing waits on that client any longer.
/// </summary>
internal sealed class ClientSession : IDisposable, IAclSubject
{
    private const int FlushThreshold = 256 * 1024;

    private readonly ServerContext _server;
    private readonly IDuplexPipe _transport;
    private RespRequestReader _reader;
    private readonly RespRequest _request = new();
    private readonly LargeRequestBuffer _largeRequest = new();
    private readonly Queue<PendingReply> _pending = new();
    private bool _closeRequested;
    private bool _dropRequested;
    private SequencePosition _consumed;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private readonly Pipelines.Sockets.Unofficial.SocketConnection? _connection;
    private readonly Pipe? _sendPipe;
    private SubscriptionPump? _pump;
    private bool _authenticated;
    private int _failedAuthentications;
    private bool _sawInput;

    // Environment.TickCount64 when the read loop last started waiting for input; NotWaiting while it handles requests.
    private long _waitingSince = NotWaiting;
    private const long NotWaiting = long.MaxValue;

    // Stopwatch timestamp since when unsent output is over the soft limit; 0 while it is not.
    private long _overSoftSince;
    private int _aborted;

    public ClientSession(ServerContext server, IDuplexPipe transport, EndPoint? remote)
    {
        _server = server;
        _transport = transport;
        Writer = new RespWriter(transport.Output);
        Id = server.NextClientId();
        Remote = remote?.ToString() ?? "?";
        RemoteAddress = (remote as IPEndPoint)?.Address;
        _reader = server.UnauthenticatedRequestReader;
        User = server.Access.Default;
        Authenticated = !server.Access.AuthenticationRequired;
        Page = new EventPage { ByteLimit = server.Options.MaxPageBytes };
        _connection = transport as Pipelines.Sockets.Unofficial.SocketConnection ?? (transport as Tls.TlsConnection)?.Connection;
        _sendPipe = _connection is null ? null : OutputAccounting.SendPipeOf(_connection);
    }

    public ServerContext Server => _server;

    public IEventStore Store => _server.Store;

    public RespWriter Writer { get; }

    /// <summary>The reply pipe; flushed by the read loop and by the subscription pump, each under <see cref="WriteLock"/>.</summary>
    public PipeWriter Output => _transport.Output;

    /// <summary>
    /// Held by the read loop while it handles a batch of requests and flushes their replies, and by the
    /// subscription pump while it writes message frames, so frames never land inside a reply.
    /// </summary>
    public SemaphoreSlim WriteLock { get; } = new(1, 1);

    /// <summary>Cancelled when the connection ends or the server stops: ends long-poll waits and the pump.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The connection's subscription delivery, created by the first subscription.</summary>
    public SubscriptionPump Pump => _pump ??= new SubscriptionPump(this);

    /// <summary>Reused by reads so that they do not allocate; bounded by <c>--max-page-bytes</c>.</summary>
    public EventPage Page { get; }

    public long Id { get; }

    public string Remote { get; }

    /// <summary>The client's IP address (null for a transport without one).</summary>
    public IPAddress? RemoteAddress { get; }

    /// <summary>
    /// Until it is set (when a password is configured), requests are read with the tight limits of
    /// <see cref="ServerContext.UnauthenticatedRequestReader"/>.
    /// </summary>
    public bool Authenticated
    {
        get => _authenticated;
        set
        {
            _authenticated = value;
            _reader = value ? _server.RequestReader : _server.UnauthenticatedRequestReader;
        }
    }

    /// <summary>The user the session runs as: <c>default</c> until an AUTH names another (SPEC "TLS and users").</summary>
    public AclUser User { get; private set; }

    /// <summary>A successful AUTH (or HELLO … AUTH): from now on the session runs as <paramref name="user"/>.</summary>
    public void SignIn(AclUser user)
    {
        User = user;
        Authenticated = true;
    }

    /// <summary>Records a refusal in <c>ACL LOG</c> with this client's user (or the user a failed AUTH named) and address.</summary>
    public void RecordRefusal(AclLogReason reason, string objectName, string? userName = null) =>
        _server.Access.Log.Record(reason, Commands.ErrorText.Excerpt(objectName), Commands.ErrorText.Excerpt(userName ?? User.Name), Commands.Connection.ClientCommand.Describe(this));

    public string? Name { get; set; }

    /// <summary>Stopwatch ticks the current command spent waiting as its client asked (BLOCK): not its own work, so not in SLOWLOG.</summary>
    public long BlockedTicks { get; set; }

    public string? LibraryName { get; set; }

    public string? LibraryVersion { get; set; }

    public DateTimeOffset ConnectedAt { get; } = DateTimeOffset.UtcNow;

    public string LastCommand { get; private set; } = "NULL";

    public HashSet<string> Channels { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Patterns { get; } = new(StringComparer.Ordinal);

    /// <summary>The client-output-buffer-limit class: a connection with push subscriptions is <c>pubsub</c>.</summary>
    public bool IsPubSub => (Channels.Count + Patterns.Count) > 0;

    /// <summary>Channels, patterns and FOLLOWs open on this connection (/metrics reads it from another thread: a moment's value).</summary>
    public int SubscriptionCount => Channels.Count + Patterns.Count;

    /// <summary>Bytes flushed for this client that the socket has not taken yet (<see cref="OutputAccounting"/>).</summary>
    public long UnsentBytes => OutputAccounting.PipeLength(_connection, _sendPipe);

    /// <summary>True once the connection was cut by the server (output limit, or shutdown of a client that does not read).</summary>
    public bool Aborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>RESP2 subscriber mode: only subscription commands, PING and QUIT are allowed.</summary>
    public bool InSubscriberMode => (Channels.Count + Patterns.Count) > 0 && !Writer.Resp3;

    /// <summary>Asks the session to close once the current reply is flushed (QUIT).</summary>
    public void RequestClose() => _closeRequested = true;

    /// <summary>A failed AUTH (or HELLO … AUTH): logged per client address at most once a second; the last one allowed closes the connection.</summary>
    public void AuthenticationFailed()
    {
        _server.Logger.Debug("Failed authentication from client {ClientId} {Remote}", Id, Remote);
        _server.FailedAuthLog.Record(RemoteAddress);
        if (++_failedAuthentications >= ServerContext.MaxFailedAuthentications)
        {
            _server.Logger.Debug("Closing connection {ClientId} from {Remote} after {Count} failed authentications", Id, Remote, _failedAuthentications);
            RequestClose();
        }
    }

    /// <summary>
    /// How long the session has been waiting for a request at <paramref name="now"/> (<see cref="Environment.TickCount64"/>);
    /// zero while it handles one (a long poll included) and while it is subscribed.
    /// </summary>
    public long IdleMilliseconds(long now)
    {
        long since = Volatile.Read(ref _waitingSince);
        return since == NotWaiting || Channels.Count + Patterns.Count > 0 ? 0 : Math.Max(0, now - since);
    }

    /// <summary><c>--timeout</c>: closes the connection without a reply, as Redis does.</summary>
    public void CloseIdle()
    {
        _server.Logger.Debug("Closing idle connection {ClientId} from {Remote} (timeout {Timeout})", Id, Remote, _server.Options.IdleTimeout);
        RequestStop();
    }

    /// <summary>Queues a reply that completes later; it is written after every earlier reply.</summary>
    public void AddPending(ValueTask<AppendResult> task, AppendRequest request, Action<RespWriter, AppendRequest, AppendResult> write) =>
        _pending.Enqueue(new PendingReply(task, request, write));

    /// <summary>Completes when the session has ended (its pending appends included).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Server shutdown: finish the requests already received, write their replies, then close.</summary>
    public void RequestStop()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended on its own meanwhile.
            return;
        }

        _transport.Input.CancelPendingRead();

        // A flush waiting on back-pressure (a client that does not read) must not hold the stop up.
        _transport.Output.CancelPendingFlush();
    }

    /// <summary>
    /// Checks this client's unsent output, plus <paramref name="unflushed"/> bytes the caller wrote and has not flushed,
    /// against the limits of its class; a client past the hard limit, or over the soft limit for the soft seconds, is
    /// disconnected (logged, counted in INFO stats). True while the client may be written to. No allocation, no lock:
    /// it runs at every flush.
    /// </summary>
    public bool WithinOutputLimits(long unflushed = 0)
    {
        if (Aborted)
        {
            return false;
        }

        bool pubsub = IsPubSub;
        var limit = pubsub ? _server.Options.PubSubOutputLimit : _server.Options.NormalOutputLimit;
        long unsent = UnsentBytes + unflushed;
        if (limit.HardBytes > 0 && unsent > limit.HardBytes)
        {
            DisconnectForOutput(unsent, pubsub, limit, "hard");
            return false;
        }

        if (limit.SoftBytes > 0 && unsent > limit.SoftBytes)
        {
            long now = Stopwatch.GetTimestamp();
            long since = Interlocked.CompareExchange(ref _overSoftSince, now, 0);
            if (since != 0 && Stopwatch.GetElapsedTime(since, now) >= TimeSpan.FromSeconds(limit.SoftSeconds))
            {
                DisconnectForOutput(unsent, pubsub, limit, "soft");
                return false;
            }
        }
        else if (Volatile.Read(ref _overSoftSince) != 0)
        {
            Volatile.Write(ref _overSoftSince, 0);
        }

        return true;
    }

    /// <summary>The server's once-a-second check (<see cref="ConnectionSweeper"/>), from its own thread.</summary>
    public void SweepOutput() => WithinOutputLimits();

    /// <summary>
    /// Ends the connection at once, whatever it is waiting for: cancels the closing token (long polls, the pump),
    /// the pending read and any flush waiting on back-pressure, and resets the socket (unsent output is dropped).
    /// Safe from any thread, more than once, and after the session ended.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            AbortTransport();
        }
    }

    private void AbortTransport()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile.
        }

        _transport.Input.CancelPendingRead();
        _transport.Output.CancelPendingFlush();
        if (_connection is not null)
        {
            try
            {
                _connection.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                _connection.Socket.Close();
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                _server.Logger.Debug(e, "Connection {ClientId} was already closed", Id);
            }
        }
    }

    private void DisconnectForOutput(long unsent, bool pubsub, OutputBufferLimit limit, string which)
    {
        // The sweep and the connection's writers may find it at once: one of them disconnects, counts and logs.
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        Interlocked.Increment(ref _server.OutputBufferLimitDisconnections);
        _server.Logger.Warning(
            "Client {ClientId} {Remote} (class {Class}) disconnected: {Unsent} bytes of unsent output passed its {Which} limit (client-output-buffer-limit {Limit})",
            Id, Remote, pubsub ? "pubsub" : "normal", unsent, which, limit);
        AbortTransport();
    }

    /// <summary>
    /// Flushes the replies written so far, unless that takes the client past its output limit (then it is
    /// disconnected instead). False when the session must end: disconnected, aborted, or the socket is gone.
    /// Before authentication nothing may pile up: while the session waited for a client that does not read its
    /// replies, the socket would go on filling the receive pipe. So such a client is dropped at once instead (no
    /// graceful close: that would wait for the unread replies too).
    /// </summary>
    private const long UnauthenticatedOutputBytes = 64 * 1024;

    private async ValueTask<bool> FlushRepliesAsync()
    {
        var output = _transport.Output;
        if (!WithinOutputLimits(output.CanGetUnflushedBytes ? output.UnflushedBytes : 0))
        {
            return false;
        }

        // The send pipe pauses writers only above the largest output limit, so before AUTH the bound is checked here.
        bool notReading = !_authenticated && UnsentBytes + (output.CanGetUnflushedBytes ? output.UnflushedBytes : 0) > UnauthenticatedOutputBytes;
        var flush = output.FlushAsync();
        if ((notReading || !flush.IsCompleted) && !_authenticated)
        {
            if (!_dropRequested)
            {
                _server.Logger.Debug("Dropping unauthenticated connection {ClientId} from {Remote}: it does not read its replies", Id, Remote);
                _dropRequested = true;
                _closeRequested = true;
            }

            output.CancelPendingFlush();
        }

        var result = await flush.ConfigureAwait(false);
        return !result.IsCanceled && !result.IsCompleted && !Aborted;
    }

    /// <summary>Releases the closing token and the write lock once <see cref="RunAsync"/> has completed.</summary>
    public void Dispose()
    {
        _closing.Dispose();
        WriteLock.Dispose();
    }

    public async Task RunAsync()
    {
        _server.Clients[Id] = this;
        Interlocked.Increment(ref _server.TotalConnections);
        var input = _transport.Input;
        try
        {
            while (true)
            {
                Volatile.Write(ref _waitingSince, Environment.TickCount64);
                var read = await input.ReadAsync().ConfigureAwait(false);
                Volatile.Write(ref _waitingSince, NotWaiting);
                var buffer = read.Buffer;
                if (!_sawInput && !buffer.IsEmpty)
                {
                    _sawInput = true;
                    if (CrossProtocol.LooksLikeTlsHandshake(buffer))
                    {
                        RefuseTlsHandshake();
                        input.AdvanceTo(buffer.End);
                        await CloseGracefullyAsync(_transport, _server.Logger, Id).ConfigureAwait(false);
                        break;
                    }
                }

                if (Aborted || (buffer.IsEmpty && (read.IsCompleted || read.IsCanceled)))
                {
                    // Cut, or the client closed (the server stops) with nothing left to answer: end now, without waiting
                    // for the write lock, which the subscription pump may hold while it writes to this very client.
                    input.AdvanceTo(buffer.End);
                    break;
                }

                bool protocolError;
                bool flushed;
                await WriteLock.WaitAsync().ConfigureAwait(false);
                try
                {
                    bool fromLargeRequest = _largeRequest.IsActive;
                    if (fromLargeRequest)
                    {
                        _largeRequest.Append(buffer);
                        input.AdvanceTo(buffer.End);
                    }

                    var requests = fromLargeRequest ? _largeRequest.Data : buffer;
                    protocolError = await ProcessAsync(requests).ConfigureAwait(false);
                    if (_consumed.Equals(requests.End))
                    {
                        // Idle between requests: give back a scratch buffer that a huge split request grew.
                        _request.TrimExcess();
                    }

                    if (fromLargeRequest)
                    {
                        _largeRequest.ConsumeTo(_consumed);
                    }
                    else if (!protocolError && buffer.Slice(_consumed).Length >= LargeRequestBuffer.Threshold)
                    {
                        // A request bigger than the receive pipe may hold: it continues in the session's own buffer.
                        _largeRequest.Append(buffer.Slice(_consumed));
                        input.AdvanceTo(buffer.End);
                    }
                    else
                    {
                        input.AdvanceTo(_consumed, buffer.End);
                    }

                    flushed = await FlushRepliesAsync().ConfigureAwait(false);
                }
                finally
                {
                    WriteLock.Release();
                }

                if (!flushed || _dropRequested)
                {
                    break;
                }

                if (protocolError || _closeRequested)
                {
                    await StopPumpAsync().ConfigureAwait(false);
                    await CloseGracefullyAsync(_transport, _server.Logger, Id).ConfigureAwait(false);
                    break;
                }

                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (IsDisconnect(e) || (Aborted && e is InvalidOperationException))
        {
            _server.Logger.Debug(e, "Connection {ClientId} from {Remote} dropped", Id, Remote);
        }
        finally
        {
            _server.Clients.TryRemove(Id, out _);
            await StopPumpAsync().ConfigureAwait(false);
            await DrainPendingQuietlyAsync().ConfigureAwait(false);
            await input.CompleteAsync().ConfigureAwait(false);
            await _transport.Output.CompleteAsync().ConfigureAwait(false);
            _completion.TrySetResult();
        }
    }

    private async Task StopPumpAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_pump is not null)
        {
            await _pump.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes a connection the server chose to end (QUIT, protocol error) so that the last reply arrives:
    /// waits until the socket has sent it, sends FIN, and briefly discards what the client still sends —
    /// closing with unread input would reset the connection and drop the reply at the client.
    /// </summary>
    internal static async Task CloseGracefullyAsync(IDuplexPipe transport, Serilog.ILogger logger, long clientId)
    {
        var connection = transport as Pipelines.Sockets.Unofficial.SocketConnection ?? (transport as Tls.TlsConnection)?.Connection;
        if (connection is null)
        {
            return;
        }

        try
        {
            if (transport is Tls.TlsConnection tls)
            {
                await tls.SendCloseNotifyAsync().ConfigureAwait(false);
            }

            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (connection.GetCounters().BytesWaitingToBeSent > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5).ConfigureAwait(false);
            }

            // The send loop may have taken the last bytes from the pipe without handing them to the socket yet.
            await Task.Delay(10).ConfigureAwait(false);
            connection.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            using var linger = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            while (true)
            {
                var read = await transport.Input.ReadAsync(linger.Token).ConfigureAwait(false);
                transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (IsDisconnect(e) || e is InvalidOperationException)
        {
            logger.Debug(e, "Connection {ClientId} closed without a clean shutdown", clientId);
        }
    }

    /// <summary>HTTP on the RESP port: closed at once, nothing it sent runs and no reply is written.</summary>
    private void RefuseCrossProtocol()
    {
        _server.Logger.Debug("Client {ClientId} {Remote} sent HTTP; closing the connection", Id, Remote);
        _server.CrossProtocolLog.Record(RemoteAddress);
        RequestClose();
    }

    /// <summary>A TLS handshake on the plaintext port: closed at once without a reply (a reply would only confuse the TLS client).</summary>
    private void RefuseTlsHandshake()
    {
        _server.Logger.Debug("Client {ClientId} {Remote} started a TLS handshake on the plaintext port; closing the connection", Id, Remote);
        _server.TlsOnPlainPortLog.Record(RemoteAddress);
    }

    /// <summary>Handles every whole request in <paramref name="buffer"/>; returns true on a protocol error.</summary>
    private async ValueTask<bool> ProcessAsync(ReadOnlySequence<byte> buffer)
    {
        _consumed = buffer.Start;
        while (!_closeRequested && !Aborted)
        {
            var status = _reader.TryRead(buffer, _request, out var next, out string? error);
            if (status == RespReadStatus.Incomplete)
            {
                break;
            }

            if (status == RespReadStatus.ProtocolError)
            {
                await WriteErrorInOrderAsync($"ERR Protocol error: {error}").ConfigureAwait(false);
                _server.Logger.Debug("Protocol error from {ClientId} {Remote}: {Error}", Id, Remote, error);
                _consumed = buffer.End;
                return true;
            }

            await DispatchAsync().ConfigureAwait(false);
            buffer = buffer.Slice(next);
            _consumed = buffer.Start;
            if (_transport.Output.CanGetUnflushedBytes && _transport.Output.UnflushedBytes > FlushThreshold && _pending.Count == 0
                && !await FlushRepliesAsync().ConfigureAwait(false))
            {
                break;
            }
        }

        // Args of pending ADDs were copied, but replies must go out before we wait for more input.
        await DrainPendingAsync().ConfigureAwait(false);
        return false;
    }

    private async ValueTask DispatchAsync()
    {
        Interlocked.Increment(ref _server.TotalCommands);
        var command = _server.Commands.Find(_request[0]);
        if ((command is null || _request.IsInline) && CrossProtocol.LooksLikeHttp(_request))
        {
            RefuseCrossProtocol();
            return;
        }

        if (command is null)
        {
            await WriteErrorInOrderAsync(UnknownCommandMessage()).ConfigureAwait(false);
            return;
        }

        if ((command.Flags & CommandFlags.Pipelined) == 0)
        {
            await DrainPendingAsync().ConfigureAwait(false);
        }

        LastCommand = command.Name;
        string? refusal = Refusal(command);
        if (refusal is not null)
        {
            await WriteErrorInOrderAsync(refusal).ConfigureAwait(false);
            return;
        }

        long started = Stopwatch.GetTimestamp();
        BlockedTicks = 0;
        try
        {
            await command.ExecuteAsync(this, _request).ConfigureAwait(false);
        }
        catch (CommandException e)
        {
            await WriteErrorInOrderAsync(e.Message).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException e)
        {
            await WriteErrorInOrderAsync($"ERR invalid JSON: {e.Message}").ConfigureAwait(false);
        }
        catch (Cluster.ClusterUnavailableException e)
        {
            // A write (a GROUP change) on a cluster member that is not the leader (READONLY leader=...) or without one (TRYAGAIN).
            await WriteErrorInOrderAsync(e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _server.Logger.Error(e, "Command {Command} from client {ClientId} {Remote} failed", command.Name, Id, Remote);
            await WriteErrorInOrderAsync($"ERR internal error: {e.Message}").ConfigureAwait(false);
        }

        long microseconds = (Stopwatch.GetElapsedTime(started).Ticks - BlockedTicks) / 10;
        if (_server.SlowLog.IsSlow(microseconds))
        {
            _server.SlowLog.Add(_request, microseconds, Remote, Name ?? "");
        }
    }

    private string? Refusal(Command command)
    {
        if (!Authenticated && (command.Flags & CommandFlags.NoAuth) == 0)
        {
            return "NOAUTH Authentication required.";
        }

        if (!command.AcceptsArgumentCount(_request.Count))
        {
            return $"ERR wrong number of arguments for '{command.Name.ToLowerInvariant()}' command";
        }

        if (CommandRights.Refusal(this, command, command.CategoriesOf(_request)) is { } noPermission)
        {
            return noPermission;
        }

        if (InSubscriberMode && (command.Flags & CommandFlags.Subscriber) == 0)
        {
            return $"ERR Can't execute '{command.Name.ToLowerInvariant()}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
        }

        return null;
    }

    /// <summary>As Redis words it; each argument cut from its raw bytes, never decoded whole (it may be 64 MiB).</summary>
    private string UnknownCommandMessage()
    {
        var text = new System.Text.StringBuilder("ERR unknown command '");
        text.Append(ErrorText.Excerpt(_request[0])).Append("', with args beginning with: ");
        for (int i = 1; i < _request.Count && i < 4; i++)
        {
            text.Append('\'').Append(ErrorText.Excerpt(_request[i])).Append("' ");
        }

        return text.ToString();
    }

    /// <summary>
    /// Every error a session writes goes through here: the replies of pipelined ADDs still pending come first,
    /// so the error lands in the position of the request it answers.
    /// </summary>
    private async ValueTask WriteErrorInOrderAsync(string message)
    {
        await DrainPendingAsync().ConfigureAwait(false);
        Writer.WriteError(message);
    }

    /// <summary>The ways a connection ends under a session (peer gone, socket closed, server stopping): not faults.</summary>
    public static bool IsDisconnect(Exception e) =>
        e is IOException or System.Net.Sockets.SocketException or Pipelines.Sockets.Unofficial.ConnectionAbortedException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or ObjectDisposedException or OperationCanceledException;

    private async ValueTask DrainPendingAsync()
    {
        while (_pending.TryDequeue(out var pending))
        {
            AppendResult result;
            try
            {
                result = await pending.Task.ConfigureAwait(false);
            }
            catch (Cluster.ClusterUnavailableException e)
            {
                // A cluster member that is not the leader (READONLY leader=...) or no leader (TRYAGAIN).
                Writer.WriteError(e.Message);
                continue;
            }
            catch (ArgumentException e)
            {
                // The store's own check of the encoded entry size, behind the command's estimate.
                Writer.WriteError(AppendOutcome.Failure(e)!);
                continue;
            }
            catch (StoreReadOnlyException e)
            {
                // "store is read-only: <reason>"; the store logged the reason once when it went read-only.
                _server.Logger.Debug("Append from client {ClientId} refused: {Error}", Id, e.Message);
                Writer.WriteError(AppendOutcome.Failure(e)!);
                continue;
            }
            catch (IOException e)
            {
                // A failed read (the idempotency check): this append was not stored, the store goes on.
                _server.Logger.Warning(e, "Append from client {ClientId} {Remote} failed", Id, Remote);
                Writer.WriteError(AppendOutcome.Failure(e)!);
                continue;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _server.Logger.Error(e, "Append from client {ClientId} {Remote} failed", Id, Remote);
                Writer.WriteError($"ERR append failed: {e.Message}");
                continue;
            }

            pending.Write(Writer, pending.Request, result);
        }
    }

    private async ValueTask DrainPendingQuietlyAsync()
    {
        // The client is gone, but its appends still run to completion so that nothing is half-done.
        while (_pending.TryDequeue(out var pending))
        {
            try
            {
                await pending.Task.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _server.Logger.Debug(e, "Append of closed connection {ClientId} failed", Id);
            }
        }
    }

    private readonly record struct PendingReply(ValueTask<AppendResult> Task, AppendRequest Request, Action<RespWriter, AppendRequest, AppendResult> Write);
}
