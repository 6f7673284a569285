using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using NUlid;
using StackExchange.Redis;

namespace EventflowDb.Client;

/// <summary>
/// A connection to an EventflowDB server: appends events with optimistic concurrency, reads streams and the global log
/// page by page, and queries the server's statistics. Built on one StackExchange.Redis <see cref="ConnectionMultiplexer"/>,
/// which multiplexes every concurrent call over one connection and reconnects by itself when the connection drops.
/// </summary>
/// <remarks>
/// <para>Create <b>one instance per application</b> with <see cref="ConnectAsync(string, CancellationToken)"/>, share it
/// (it is thread-safe) and dispose it when the application stops.</para>
/// <para>Failures surface as <see cref="EventflowDbException"/> and its subclasses. After a connection failure or time-out,
/// operations that are safe to repeat (reads, statistics, and appends whose events all carry a
/// <see cref="EventData.MessageId"/>) are sent again once by default; see <see cref="EventflowDbClientOptions.ConnectionFailureRetries"/>.</para>
/// <para>Cancellation stops waiting for the reply; a command that was already sent still runs on the server (an
/// append may be stored). A token cancelled before the call sends nothing.</para>
/// </remarks>
public sealed partial class EventflowDbClient : IAsyncDisposable
{
    private static readonly object[] NoArguments = [];

    private readonly ConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly ConfigurationOptions _configuration;
    private int _disposed;

    // The server's refusal of the password, kept until a connection is restored: with abortConnect=false a command can
    // time out in the backlog carrying only the last reconnect's failure (a cancelled connect), not the refusal.
    private Exception? _authenticationFailure;

    private EventflowDbClient(ConnectionMultiplexer multiplexer, ConfigurationOptions configuration, EventflowDbClientOptions options)
    {
        _multiplexer = multiplexer;
        _configuration = configuration;
        _database = multiplexer.GetDatabase();
        Options = options;
        multiplexer.ConnectionFailed += (_, e) =>
        {
            if (e.FailureType == ConnectionFailureType.AuthenticationFailure)
            {
                Volatile.Write(ref _authenticationFailure, e.Exception ?? new InvalidOperationException("The server refused the password."));
            }
        };
        // Cleared by the next command that succeeds, not by ConnectionRestored: StackExchange.Redis raises its events on the
        // thread pool, so a "restored" for a socket whose AUTH then fails can arrive after the failure and hide it, and a
        // command that times out in the backlog would then report a connection failure instead of the refused password.
    }

    /// <summary>The options this client was created with.</summary>
    public EventflowDbClientOptions Options { get; }

    /// <summary>
    /// The underlying StackExchange.Redis multiplexer, for what this client does not wrap (connection events, status,
    /// pub/sub). Do not close or dispose it; dispose the client instead.
    /// </summary>
    public IConnectionMultiplexer Multiplexer => _multiplexer;

    /// <summary>Connects to a server with default options.</summary>
    /// <param name="connectionString">
    /// A StackExchange.Redis connection string, e.g. <c>localhost:6543</c> or <c>db.example.com:6543,password=secret,protocol=resp3</c>.
    /// Every StackExchange.Redis option applies (<c>connectTimeout</c>, <c>asyncTimeout</c>, <c>abortConnect</c>, <c>ssl</c>, ...).
    /// </param>
    /// <param name="cancellationToken">Stops waiting for the connection.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="AuthenticationException">The password is wrong or missing, or (TLS) the server's certificate is not trusted or the server refused the client certificate.</exception>
    /// <exception cref="EventflowDbConnectionException">The server could not be reached.</exception>
    public static Task<EventflowDbClient> ConnectAsync(string connectionString, CancellationToken cancellationToken = default) =>
        ConnectAsync(connectionString, null, cancellationToken);

    /// <summary>Connects to a server.</summary>
    /// <param name="connectionString">A StackExchange.Redis connection string, e.g. <c>localhost:6543,password=secret</c>.</param>
    /// <param name="options">Client behaviour; null: defaults.</param>
    /// <param name="cancellationToken">Stops waiting for the connection.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="ArgumentException">The connection string cannot be parsed.</exception>
    /// <exception cref="AuthenticationException">The password is wrong or missing, or (TLS) the server's certificate is not trusted or the server refused the client certificate.</exception>
    /// <exception cref="EventflowDbConnectionException">The server could not be reached.</exception>
    public static Task<EventflowDbClient> ConnectAsync(string connectionString, EventflowDbClientOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or RedisException)
        {
            throw new ArgumentException($"Invalid connection string: {e.Message}", nameof(connectionString), e);
        }

        return ConnectAsync(configuration, options, cancellationToken);
    }

    /// <summary>Connects to a server described by StackExchange.Redis options.</summary>
    /// <param name="configuration">The connection settings (end point, password, protocol, time-outs, ...).</param>
    /// <param name="options">Client behaviour; null: defaults.</param>
    /// <param name="cancellationToken">Stops waiting for the connection.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="AuthenticationException">The password is wrong or missing, or (TLS) the server's certificate is not trusted or the server refused the client certificate.</exception>
    /// <exception cref="EventflowDbConnectionException">The server could not be reached.</exception>
    public static async Task<EventflowDbClient> ConnectAsync(ConfigurationOptions configuration, EventflowDbClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        cancellationToken.ThrowIfCancellationRequested();
        configuration = WithOptions(configuration, options);
        var connecting = ConnectionMultiplexer.ConnectAsync(configuration);
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !connecting.IsCompleted)
        {
            _ = connecting.ContinueWith(
                static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        t.Result.Dispose();
                    }
                    else
                    {
                        _ = t.Exception;
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
        catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            throw AuthenticationFailure("Authentication with the EventflowDB server failed", e);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw new EventflowDbConnectionException($"Could not connect to the EventflowDB server: {e.Message}", e);
        }

        return new EventflowDbClient(multiplexer, configuration.Clone(), options ?? new EventflowDbClientOptions());
    }

    /// <summary>The connection settings with the user, password and TLS settings of <paramref name="options"/>, where it names them.</summary>
    private static ConfigurationOptions WithOptions(ConfigurationOptions configuration, EventflowDbClientOptions? options)
    {
        if (options is null || (options.User, options.Password, options.UseTls, options.CaCertificate, options.ClientCertificate, options.TlsHost) is (null, null, null, null, null, null))
        {
            return configuration;
        }

        var copy = configuration.Clone();
        copy.User = options.User ?? copy.User;
        copy.Password = options.Password ?? copy.Password;
        copy.Ssl = options.UseTls ?? (copy.Ssl || options.CaCertificate is not null || options.ClientCertificate is not null);
        copy.SslHost = options.TlsHost ?? copy.SslHost;
        if (options.CaCertificate is { } ca)
        {
            copy.TrustIssuer(ca);
        }

        if (options.ClientCertificate is { } certificate)
        {
            copy.CertificateSelection += (_, _, _, _, _) => certificate;
        }

        return copy;
    }

    /// <summary>Appends one event to a stream. See <see cref="AppendAsync(string, ExpectedVersion, IEnumerable{EventData}, CancellationToken)"/>.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="expectedVersion">The concurrency check.</param>
    /// <param name="event">The event.</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The stored event, in a list of one.</returns>
    public Task<IReadOnlyList<RecordedEvent>> AppendAsync(string stream, ExpectedVersion expectedVersion, EventData @event, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return AppendAsync(stream, expectedVersion, [@event], cancellationToken);
    }

    /// <summary>
    /// Appends events to a stream, atomically (all are stored or none), once the stream passes the
    /// <paramref name="expectedVersion"/> check. Completes when the events are durable on the server's disk.
    /// </summary>
    /// <remarks>
    /// <para><b>Idempotency and retries.</b> When every event carries a <see cref="EventData.MessageId"/> that the stream already
    /// holds, nothing is written and the events stored the first time are returned, whatever <paramref name="expectedVersion"/>
    /// says; this lasts forever, not for a time window. Such an append is therefore safe to repeat, and the client repeats it
    /// once by default when the connection fails or times out before the reply (<see cref="EventflowDbClientOptions.ConnectionFailureRetries"/>).
    /// An append in which any event lacks a message id is never repeated by the client: it fails with
    /// <see cref="EventflowDbConnectionException"/> and its outcome is unknown.</para>
    /// </remarks>
    /// <param name="stream">The stream: a non-empty UTF-8 string of at most 256 bytes without control characters; its category is the part before the first <c>-</c>.</param>
    /// <param name="expectedVersion">The concurrency check: <see cref="ExpectedVersion.Any"/>, <see cref="ExpectedVersion.NoStream"/>, <see cref="ExpectedVersion.Exists"/> or <see cref="ExpectedVersion.Exact(long)"/> (the stream's event count).</param>
    /// <param name="events">At least one event.</param>
    /// <param name="cancellationToken">Stops waiting for the reply (a sent append may still be stored).</param>
    /// <returns>The stored events, in the order given, with their ids, positions, versions and time.</returns>
    /// <exception cref="WrongExpectedVersionException">The stream did not pass the check, or the batch repeated only some of its message ids.</exception>
    /// <exception cref="InvalidEventException">The server rejected a value (for example an all-zero stream id, or the same message id twice in the batch).</exception>
    /// <exception cref="EventflowDbException">Another server error; <see cref="EventflowDbException.ErrorCode"/> says which (<c>TOOLARGE</c> for an append over the server's size limit).</exception>
    /// <exception cref="EventflowDbConnectionException">The connection failed (after the retries allowed).</exception>
    public Task<IReadOnlyList<RecordedEvent>> AppendAsync(string stream, ExpectedVersion expectedVersion, IEnumerable<EventData> events, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentNullException.ThrowIfNull(events);
        EventData[] list = [.. events];
        if (list.Length == 0)
        {
            throw new ArgumentException("An append needs at least one event.", nameof(events));
        }

        bool allHaveMessageIds = true;
        foreach (var e in list)
        {
            if (e is null)
            {
                throw new ArgumentException("The events cannot contain null.", nameof(events));
            }

            allHaveMessageIds &= e.MessageId is not null;
        }

        ThrowIfDisposed();
        return AppendCoreAsync(stream, WireFormat.AddRequest(stream, expectedVersion, list), allHaveMessageIds, cancellationToken);
    }

    /// <summary>
    /// Reads a stream from <paramref name="fromVersion"/> on, oldest first, fetching one page per server call as the
    /// enumeration proceeds. The enumeration ends when the server returns an empty page, i.e. at the stream's end at that
    /// moment (events appended meanwhile are included when their page has not been read yet). A missing stream reads as empty.
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="fromVersion">The first version to read (0: the start).</param>
    /// <param name="pageSize">Events per server call; 0: <see cref="EventflowDbClientOptions.PageSize"/>. The server caps it at its maximum page.</param>
    /// <param name="cancellationToken">Stops the enumeration (also settable with <c>WithCancellation</c>).</param>
    /// <returns>The events.</returns>
    public IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string stream, long fromVersion = 0, int pageSize = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        ArgumentOutOfRangeException.ThrowIfNegative(pageSize);
        return ReadStreamCoreAsync(stream, fromVersion, PageSizeOrDefault(pageSize), cancellationToken);
    }

    /// <summary>
    /// Reads the global log of all streams in order, strictly after the event <paramref name="after"/>, fetching one page per
    /// server call as the enumeration proceeds, until the server returns an empty page (the end of the log at that moment).
    /// Keep the <see cref="RecordedEvent.Id"/> of the last event handled to resume from there later.
    /// </summary>
    /// <param name="after">The id of the last event already seen; null or <see cref="Ulid.Empty"/>: from the start. Any ULID works, stored or not.</param>
    /// <param name="pageSize">Events per server call; 0: <see cref="EventflowDbClientOptions.PageSize"/>. The server caps it at its maximum page.</param>
    /// <param name="cancellationToken">Stops the enumeration (also settable with <c>WithCancellation</c>).</param>
    /// <returns>The events, in log order.</returns>
    public IAsyncEnumerable<RecordedEvent> ReadAllAsync(Ulid? after = null, int pageSize = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageSize);
        return ReadAllCoreAsync(after ?? Ulid.Empty, PageSizeOrDefault(pageSize), cancellationToken);
    }

    /// <summary>
    /// Lists the streams in creation order with their event counts and times, one page per server call, until the server
    /// returns an empty page.
    /// </summary>
    /// <param name="skip">How many streams to skip first.</param>
    /// <param name="pageSize">Streams per server call; 0: <see cref="EventflowDbClientOptions.PageSize"/>. The server caps it at its maximum page.</param>
    /// <param name="cancellationToken">Stops the enumeration (also settable with <c>WithCancellation</c>).</param>
    /// <returns>The stream summaries.</returns>
    public IAsyncEnumerable<StreamInfo> ListStreamsAsync(long skip = 0, int pageSize = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(pageSize);
        return ListStreamsCoreAsync(skip, PageSizeOrDefault(pageSize), cancellationToken);
    }

    /// <summary>CHECKSUM: the id of the last event and a checksum chained over the whole log, to compare two stores or check a backup.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The checksum (<see cref="Ulid.Empty"/> and 0 on an empty store).</returns>
    public async Task<StoreChecksum> GetChecksumAsync(CancellationToken cancellationToken = default)
    {
        var items = Array(await ExecuteAsync("CHECKSUM", NoArguments, true, null, cancellationToken).ConfigureAwait(false), "CHECKSUM", 2);
        string id = Text(items[0], "CHECKSUM");
        string hex = Text(items[1], "CHECKSUM");
        return Ulid.TryParse(id, out var lastId) && ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            ? new StoreChecksum(lastId, value)
            : throw WireFormat.Malformed($"CHECKSUM [{id}, {hex}]", null);
    }

    /// <summary>EVENTCOUNT: the exact number of events in the store.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The event count.</returns>
    public Task<long> GetEventCountAsync(CancellationToken cancellationToken = default) => IntegerAsync("EVENTCOUNT", cancellationToken);

    /// <summary>EVENTCOUNTEST: the number of events as of the server's last periodic index checkpoint (cheap, may lag behind).</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The estimated event count.</returns>
    public Task<long> GetEventCountEstimateAsync(CancellationToken cancellationToken = default) => IntegerAsync("EVENTCOUNTEST", cancellationToken);

    /// <summary>STREAMCOUNT: the exact number of streams.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The stream count.</returns>
    public Task<long> GetStreamCountAsync(CancellationToken cancellationToken = default) => IntegerAsync("STREAMCOUNT", cancellationToken);

    /// <summary>STREAMCOUNTEST: the number of streams as of the server's last periodic index checkpoint (cheap, may lag behind).</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The estimated stream count.</returns>
    public Task<long> GetStreamCountEstimateAsync(CancellationToken cancellationToken = default) => IntegerAsync("STREAMCOUNTEST", cancellationToken);

    /// <summary>SIZE: the bytes the store occupies on disk.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The size in bytes and as text.</returns>
    public async Task<StoreSize> GetSizeAsync(CancellationToken cancellationToken = default)
    {
        var items = Array(await ExecuteAsync("SIZE", NoArguments, true, null, cancellationToken).ConfigureAwait(false), "SIZE", 2);
        return new StoreSize(Integer(items[0], "SIZE"), Text(items[1], "SIZE"));
    }

    /// <summary>UPTIME: how long the server has been running.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The uptime and its text form.</returns>
    public async Task<ServerUptime> GetUptimeAsync(CancellationToken cancellationToken = default)
    {
        var items = Array(await ExecuteAsync("UPTIME", NoArguments, true, null, cancellationToken).ConfigureAwait(false), "UPTIME", 2);
        return new ServerUptime(TimeSpan.FromMilliseconds(Integer(items[0], "UPTIME")), Text(items[1], "UPTIME"));
    }

    /// <summary>VERSION: the server's own semantic version (not the Redis version it reports to Redis clients).</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The version, e.g. <c>0.1.0</c>.</returns>
    public async Task<string> GetServerVersionAsync(CancellationToken cancellationToken = default) =>
        Text(await ExecuteAsync("VERSION", NoArguments, true, null, cancellationToken).ConfigureAwait(false), "VERSION");

    /// <summary>PING: checks that the server answers.</summary>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The round-trip time.</returns>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        long start = Stopwatch.GetTimestamp();
        var reply = await ExecuteAsync("PING", NoArguments, true, null, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(start);
        string text = Text(reply, "PING");
        return text == "PONG" ? elapsed : throw WireFormat.Malformed($"PING answered '{text}'", null);
    }

    /// <summary>Closes the connection, letting commands already sent complete.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _multiplexer.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
        }
        finally
        {
            await _multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<RecordedEvent>> AppendCoreAsync(string stream, byte[] request, bool retryable, CancellationToken cancellationToken)
    {
        var reply = await ExecuteAsync("ADD", [request], retryable, stream, cancellationToken).ConfigureAwait(false);
        return Events(reply, "ADD");
    }

    private async IAsyncEnumerable<RecordedEvent> ReadStreamCoreAsync(string stream, long fromVersion, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long next = fromVersion;
        while (true)
        {
            var reply = await ExecuteAsync("GET", [WireFormat.GetRequest(stream, next, pageSize)], true, stream, cancellationToken).ConfigureAwait(false);
            var page = Events(reply, "GET");
            if (page.Count == 0)
            {
                yield break;
            }

            foreach (var e in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return e;
            }

            next = page[^1].Version + 1;
        }
    }

    private async IAsyncEnumerable<RecordedEvent> ReadAllCoreAsync(Ulid after, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = after;
        while (true)
        {
            var reply = await ExecuteAsync("GETALL", [WireFormat.GetAllRequest(next, pageSize)], true, null, cancellationToken).ConfigureAwait(false);
            var page = Events(reply, "GETALL");
            if (page.Count == 0)
            {
                yield break;
            }

            foreach (var e in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return e;
            }

            next = page[^1].Id;
        }
    }

    private async IAsyncEnumerable<StreamInfo> ListStreamsCoreAsync(long skip, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long next = skip;
        while (true)
        {
            var reply = await ExecuteAsync("LISTSTREAMS", [WireFormat.ListStreamsRequest(next, pageSize)], true, null, cancellationToken).ConfigureAwait(false);
            var items = Array(reply, "LISTSTREAMS");
            if (items.Length == 0)
            {
                yield break;
            }

            var page = new StreamInfo[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                page[i] = WireFormat.ReadStreamInfo(Bytes(items[i], "LISTSTREAMS"));
            }

            foreach (var info in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return info;
            }

            next += page.Length;
        }
    }

    private async Task<long> IntegerAsync(string command, CancellationToken cancellationToken) =>
        Integer(await ExecuteAsync(command, NoArguments, true, null, cancellationToken).ConfigureAwait(false), command);

    /// <summary>
    /// Sends one command. Server errors become typed exceptions; connection failures and time-outs are retried when
    /// <paramref name="retryable"/> (up to <see cref="EventflowDbClientOptions.ConnectionFailureRetries"/> times), then
    /// become <see cref="EventflowDbConnectionException"/>.
    /// </summary>
    private Task<RedisResult> ExecuteAsync(string command, object[] arguments, bool retryable, string? stream, CancellationToken cancellationToken) =>
        SendAsync(_database, command, arguments, stream, "the connection", retryable, (attempt, e) =>
        {
            if (retryable && attempt < Options.ConnectionFailureRetries)
            {
                return Task.FromResult(true);
            }

            string outcome = (command, retryable) switch
            {
                ("ADD", false) => " The append may or may not have been stored; give every event a message id to make appends safe to retry.",
                ("DELETE" or "FORGET", _) => $" The {command} may or may not have been applied, and was not sent again (a repeat could reach events added since); check STREAMMETA before sending it again.",
                _ => "",
            };
            throw new EventflowDbConnectionException($"{command} failed after {attempt + 1} attempt(s): {e.Message}{outcome}", e);
        }, cancellationToken);

    /// <summary>
    /// Sends one command on <paramref name="database"/>, mapping server errors to typed exceptions. After a connection
    /// failure or time-out, <paramref name="retryAfter"/> (given the attempt number) decides whether to send it again:
    /// it returns true to retry, or throws.
    /// </summary>
    private async Task<RedisResult> SendAsync(IDatabase database, string command, object[] arguments, string? stream, string connectionName, bool retryable, Func<int, Exception, Task<bool>> retryAfter, CancellationToken cancellationToken)
    {
        var redirectStarted = 0L;
        for (int attempt = 0; ; attempt++)
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            if (database.Multiplexer == _multiplexer && !_multiplexer.IsConnected && Volatile.Read(ref _authenticationFailure) is { } refusedBefore)
            {
                // Not connected because the server refused the password: say so now rather than after the time-out.
                throw AuthenticationFailure($"{command} failed: {connectionName} could not authenticate", refusedBefore);
            }

            var pending = database.ExecuteAsync(command, arguments, CommandFlags.None);
            Exception failure;
            try
            {
                var result = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (database.Multiplexer == _multiplexer && Volatile.Read(ref _authenticationFailure) is not null)
                {
                    Volatile.Write(ref _authenticationFailure, null);
                }

                return result;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !pending.IsCompleted)
            {
                Observe(pending);
                throw;
            }
            catch (RedisServerException e) when (ClusterRedirect(e.Message, retryable) && database.Multiplexer.GetEndPoints().Length > 1)
            {
                // A cluster: this member is a follower (READONLY: nothing was written, so any write may go again) or there
                // is no leader yet (TRYAGAIN: sent again only when safe to repeat). Find the leader again and resend, for
                // as long as a failover takes.
                if (redirectStarted == 0)
                {
                    redirectStarted = Environment.TickCount64;
                }
                else if (Environment.TickCount64 - redirectStarted > Options.ClusterFailoverTimeout.TotalMilliseconds)
                {
                    throw ServerErrors.FromReply(e.Message, stream, e);
                }

                await database.Multiplexer.ConfigureAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                attempt--;
                continue;
            }
            catch (RedisServerException e)
            {
                throw ServerErrors.FromReply(e.Message, stream, e);
            }
            catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure)
            {
                throw AuthenticationFailure($"{command} failed: {connectionName} could not authenticate", e);
            }
            catch (Exception e) when ((e is RedisConnectionException or RedisTimeoutException) && database.Multiplexer == _multiplexer && Volatile.Read(ref _authenticationFailure) is { } refused)
            {
                throw AuthenticationFailure($"{command} failed: {connectionName} could not authenticate", refused);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                failure = e;
            }

            if (database.Multiplexer == _multiplexer && !_multiplexer.IsConnected && await RefusedCredentialsAsync().ConfigureAwait(false) is { } refusal)
            {
                throw AuthenticationFailure($"{command} failed: {connectionName} could not authenticate", refusal);
            }

            if (retryable && database.Multiplexer.GetEndPoints().Length > 1)
            {
                // A cluster member went away (the leader, in a failover): resend to whichever member leads now, for as long
                // as a failover takes.
                if (redirectStarted == 0)
                {
                    redirectStarted = Environment.TickCount64;
                }

                if (Environment.TickCount64 - redirectStarted <= Options.ClusterFailoverTimeout.TotalMilliseconds)
                {
                    await database.Multiplexer.ConfigureAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                    attempt--;
                    continue;
                }
            }

            if (!await retryAfter(attempt, failure).ConfigureAwait(false))
            {
                throw new EventflowDbConnectionException($"{command} failed after {attempt + 1} attempt(s): {failure.Message}", failure);
            }
        }
    }

    /// <summary>True for the error replies of a cluster member that is not the leader and did not apply the command.</summary>
    private static bool ClusterRedirect(string reply, bool retryable) => ServerErrors.CodeOf(reply) switch
    {
        EventflowDbErrorCodes.ReadOnly => true,
        EventflowDbErrorCodes.TryAgain => retryable,
        _ => false,
    };

    /// <summary>
    /// After a command failed while not connected: one fresh connection attempt, to tell a refused password or certificate
    /// from a server that is down. StackExchange.Redis reports the refusal through an event only for the socket it counts as
    /// current, so under load a failure can come without it; a fresh connect reports the refusal as its own failure type.
    /// Returns the refusal, or null when the probe connected or failed for another reason.
    /// </summary>
    private async Task<Exception?> RefusedCredentialsAsync()
    {
        if (_configuration.Password is null && _configuration.User is null && !_configuration.Ssl)
        {
            return null;
        }

        var probe = _configuration.Clone();
        probe.AbortOnConnectFail = true;
        probe.ConnectRetry = 1;
        probe.ConnectTimeout = Math.Min(probe.ConnectTimeout, 5000);
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(probe).ConfigureAwait(false);
            return null;
        }
        catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            Volatile.Write(ref _authenticationFailure, e);
            return e;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            return null;
        }
    }

    /// <summary>An <see cref="AuthenticationException"/> with the server's code (NOAUTH, WRONGPASS) when StackExchange.Redis kept the server's reply.</summary>
    private static AuthenticationException AuthenticationFailure(string what, Exception e)
    {
        string? code = null;
        for (Exception? inner = e; inner is not null && code is null; inner = inner.InnerException)
        {
            if (ServerErrors.CodeOf(inner.Message) is EventflowDbErrorCodes.NoAuth or EventflowDbErrorCodes.WrongPassword)
            {
                code = ServerErrors.CodeOf(inner.Message);
            }
        }

        return new AuthenticationException($"{what}: {e.Message}", code, e);
    }

    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private int PageSizeOrDefault(int pageSize) => pageSize > 0 ? pageSize : Options.PageSize;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static List<RecordedEvent> Events(RedisResult reply, string command)
    {
        var items = Array(reply, command);
        var events = new List<RecordedEvent>(items.Length);
        foreach (var item in items)
        {
            events.Add(WireFormat.ReadEvent(Bytes(item, command)));
        }

        return events;
    }

    private static RedisResult[] Array(RedisResult reply, string command, int? length = null)
    {
        if (reply.IsNull || reply.Resp2Type != ResultType.Array)
        {
            throw WireFormat.Malformed($"{command} answered {reply.Resp3Type} instead of an array", null);
        }

        var items = (RedisResult[])reply!;
        return length is null || items.Length == length
            ? items
            : throw WireFormat.Malformed($"{command} answered an array of {items.Length} items instead of {length}", null);
    }

    private static byte[] Bytes(RedisResult item, string command) =>
        item.IsNull || item.Resp2Type != ResultType.BulkString
            ? throw WireFormat.Malformed($"{command} answered an array item of type {item.Resp3Type} instead of a bulk string", null)
            : (byte[])item!;

    private static string Text(RedisResult item, string command) =>
        item.IsNull || item.Resp2Type is not (ResultType.BulkString or ResultType.SimpleString)
            ? throw WireFormat.Malformed($"{command} answered {item.Resp3Type} instead of a string", null)
            : (string)item!;

    private static long Integer(RedisResult item, string command)
    {
        if (item.Resp2Type == ResultType.Integer)
        {
            return (long)item;
        }

        return item.Resp2Type == ResultType.BulkString && long.TryParse((string?)item, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw WireFormat.Malformed($"{command} answered {item.Resp3Type} instead of an integer", null);
    }
}
