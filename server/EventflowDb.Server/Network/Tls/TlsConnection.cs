using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Pipelines.Sockets.Unofficial;

namespace EventflowDb.Server.Network.Tls;

/// <summary>
/// A connection of the TLS port after its handshake: the session reads and writes plaintext through
/// <see cref="Input"/> and <see cref="Output"/> (pipes over the <see cref="SslStream"/>), while the ciphertext
/// flows through the socket connection's own pipes (<see cref="Connection"/>), which still account unsent output,
/// abort, and shut the socket down.
/// </summary>
internal sealed class TlsConnection : IDuplexPipe, IAsyncDisposable
{
    /// <summary>A client that does not finish its handshake within this is dropped, so a silent one cannot hold a slot.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    // One read takes up to a full TLS record's plaintext; replies are encrypted in chunks of up to 64 KiB per flush.
    private const int ReadBufferSize = 16 * 1024;
    private const int WriteBufferSize = 64 * 1024;

    private readonly SslStream _ssl;
    private readonly SocketPipeStream _ciphertext;

    private TlsConnection(SocketConnection connection, SslStream ssl, SocketPipeStream ciphertext)
    {
        Connection = connection;
        _ssl = ssl;
        _ciphertext = ciphertext;
        Input = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, leaveOpen: true));
        Output = new NoFlushOnCompleteWriter(PipeWriter.Create(ssl, new StreamPipeWriterOptions(minimumBufferSize: WriteBufferSize, leaveOpen: true)));
    }

    /// <summary>The TCP connection under the TLS session.</summary>
    public SocketConnection Connection { get; }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>The negotiated protocol (for logs).</summary>
    public SslProtocols Protocol => _ssl.SslProtocol;

    /// <summary>
    /// Runs the server side of the handshake with the current certificates; null when it fails or times out (logged at
    /// Debug, counted in <c>tls_handshake_failures</c>), and the caller then lets the socket close.
    /// </summary>
    public static async Task<TlsConnection?> AcceptAsync(SocketConnection connection, EndPoint? remote, ServerContext context)
    {
        var options = context.Tls.HandshakeOptions;
        if (options is null)
        {
            context.Logger.Warning("TLS connection from {Remote} refused: no certificate is loaded", remote);
            return null;
        }

        var ciphertext = new SocketPipeStream(connection);
        var ssl = new SslStream(ciphertext, leaveInnerStreamOpen: true);
        using var timeout = new CancellationTokenSource(HandshakeTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
            ciphertext.FlushEveryWrite = false;
            return new TlsConnection(connection, ssl, ciphertext);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException
            or System.Net.Sockets.SocketException or ConnectionResetException or ConnectionAbortedException)
        {
            Interlocked.Increment(ref context.TlsHandshakeFailures);
            string reason = timeout.IsCancellationRequested ? $"no handshake within {HandshakeTimeout.TotalSeconds:0} s" : e.Message;
            context.Logger.Debug("TLS handshake with {Remote} failed: {Reason}", remote, reason);
            await ssl.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Sends close_notify, so the client knows the session ended cleanly, before the socket's FIN.</summary>
    public async Task SendCloseNotifyAsync()
    {
        await _ssl.ShutdownAsync().ConfigureAwait(false);
        await _ciphertext.FlushAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _ssl.DisposeAsync();

    /// <summary>
    /// The plaintext writer. Completing it never writes what is left unflushed: a session completes its output only
    /// when it ends, and writing then could wait on a client that does not read (replies that matter were flushed).
    /// </summary>
    private sealed class NoFlushOnCompleteWriter(PipeWriter inner) : PipeWriter
    {
        private static readonly Exception Ended = new InvalidOperationException("the session ended");

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void Complete(Exception? exception = null) => inner.Complete(exception ?? Ended);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception ?? Ended);
    }
}
