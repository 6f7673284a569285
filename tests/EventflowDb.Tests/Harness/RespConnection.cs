using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EventflowDb.Protocol;

namespace EventflowDb.Tests.Harness;

/// <summary>One reply with the exact bytes it arrived as.</summary>
public sealed record RawReply(RespValue Value, byte[] Raw)
{
    /// <summary>The raw bytes as text (for messages and prefix checks).</summary>
    public string RawText => Encoding.UTF8.GetString(Raw);
}

/// <summary>How a test's raw TLS client connects: whom it trusts, what it presents, which versions it offers.</summary>
public sealed record TlsClientOptions(X509Certificate2 TrustedCa)
{
    /// <summary>A client certificate (with its key), or none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The TLS versions offered; None: the system's choice.</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.None;

    /// <summary>The name the server certificate must carry (and the SNI sent).</summary>
    public string TargetHost { get; init; } = "localhost";

    /// <summary>The socket's receive buffer (a small one makes a client that does not read fill up fast); null: the default.</summary>
    public int? ReceiveBufferSize { get; init; }
}

/// <summary>A raw TCP connection to the server (optionally through TLS): send any bytes, read RESP replies.</summary>
public sealed class RespConnection : IAsyncDisposable
{
    /// <summary>Default time to wait for one reply.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private SslStream? _tls;

    private RespConnection(Socket socket) => _socket = socket;

    /// <summary>The TLS session of a connection opened with <see cref="OpenTlsAsync"/>, else null.</summary>
    public SslStream? Tls => _tls;

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> and runs a TLS handshake that trusts only <see cref="TlsClientOptions.TrustedCa"/>;
    /// throws <see cref="AuthenticationException"/> or <see cref="IOException"/> when the handshake fails.
    /// </summary>
    public static async Task<RespConnection> OpenTlsAsync(int port, TlsClientOptions options, TimeSpan? timeout = null)
    {
        var connection = await OpenAsync(port, timeout, options.ReceiveBufferSize);
        var tls = new SslStream(new NetworkStream(connection._socket, ownsSocket: false), leaveInnerStreamOpen: false);
        connection._tls = tls;
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = options.TargetHost,
            EnabledSslProtocols = options.Protocols,
            ClientCertificates = options.ClientCertificate is null ? null : [options.ClientCertificate],
            LocalCertificateSelectionCallback = options.ClientCertificate is null ? null : (_, _, _, _, _) => options.ClientCertificate,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusts(options.TrustedCa, certificate, errors),
        };
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await tls.AuthenticateAsClientAsync(authentication, cts.Token);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return connection;
    }

    /// <summary>Chains to <paramref name="ca"/> (and only to it), and the name matched.</summary>
    private static bool Trusts(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>True once the server closed the connection (seen by a read).</summary>
    public bool ClosedByPeer { get; private set; }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<RespConnection> OpenAsync(int port, TimeSpan? timeout = null, int? receiveBufferSize = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            throw new TimeoutException($"connect to port {port} timed out");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RespConnection(socket);
    }

    /// <summary>Encodes a request as a RESP array of bulk strings (UTF-8).</summary>
    public static byte[] Encode(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
        foreach (var a in args)
        {
            sb.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Encodes a request of arbitrary byte arguments (for bytes that are not UTF-8) as a RESP array of bulk strings.</summary>
    public static byte[] Encode(params byte[][] args)
    {
        using var stream = new MemoryStream();
        stream.Write(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
        foreach (var a in args)
        {
            stream.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"${a.Length}\r\n")));
            stream.Write(a);
            stream.Write("\r\n"u8);
        }

        return stream.ToArray();
    }

    /// <summary>Sends one request of byte arguments and reads its reply with the raw bytes.</summary>
    public async Task<RawReply> CommandRawAsync(params byte[][] args)
    {
        await SendAsync(Encode(args));
        return await ReadRawReplyAsync();
    }

    /// <summary>Sends raw bytes.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        if (_tls is not null)
        {
            await _tls.WriteAsync(bytes);
            await _tls.FlushAsync();
            return;
        }

        while (bytes.Length > 0)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends text as UTF-8.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends one RESP request.</summary>
    public Task SendCommandAsync(params string[] args) => SendAsync(Encode(args));

    /// <summary>Sends one request and reads its reply.</summary>
    public async Task<RespValue> CommandAsync(params string[] args)
    {
        await SendCommandAsync(args);
        return await ReadReplyAsync();
    }

    /// <summary>Sends one request and reads its reply with the raw bytes.</summary>
    public async Task<RawReply> CommandRawAsync(params string[] args)
    {
        await SendCommandAsync(args);
        return await ReadRawReplyAsync();
    }

    /// <summary>Reads the next reply.</summary>
    public async Task<RespValue> ReadReplyAsync(TimeSpan? timeout = null) => (await ReadRawReplyAsync(timeout)).Value;

    /// <summary>Reads the next <paramref name="count"/> replies.</summary>
    public async Task<List<RespValue>> ReadRepliesAsync(int count, TimeSpan? timeout = null)
    {
        var replies = new List<RespValue>(count);
        for (int i = 0; i < count; i++)
        {
            replies.Add(await ReadReplyAsync(timeout));
        }

        return replies;
    }

    /// <summary>Reads the next reply with its raw bytes. Throws <see cref="EndOfStreamException"/> when the server closed the connection first.</summary>
    public async Task<RawReply> ReadRawReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            if (_end > _start && !SurelyIncomplete(_buffer.AsSpan(_start, _end - _start)))
            {
                var pending = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
                if (RespValue.TryRead(pending, out var value, out var end))
                {
                    int consumed = (int)pending.Slice(0, end).Length;
                    var raw = _buffer.AsSpan(_start, consumed).ToArray();
                    _start += consumed;
                    return new RawReply(value!, raw);
                }
            }

            bool filled;
            try
            {
                filled = await FillAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"no reply within {timeout ?? DefaultTimeout}");
            }

            if (!filled)
            {
                string pending = Encoding.UTF8.GetString(_buffer, _start, Math.Min(_end - _start, 500));
                throw new EndOfStreamException($"server closed the connection before a whole reply arrived (pending bytes: '{pending}')");
            }
        }
    }

    /// <summary>
    /// Waits until the server closes the connection: true when it did (EOF or reset) within <paramref name="timeout"/>,
    /// false when the connection is still open then. Fails when more reply bytes arrive instead.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                if (_end > _start)
                {
                    throw new InvalidOperationException($"expected the connection to close, but got more bytes: '{Encoding.UTF8.GetString(_buffer, _start, Math.Min(_end - _start, 500))}'");
                }

                if (!await FillAsync(cts.Token))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_tls is not null)
        {
            await _tls.DisposeAsync();
        }

        _socket.Dispose();
    }

    /// <summary>
    /// True when the bytes are certainly the start of a value that has not fully arrived: walks the headers of arrays,
    /// bulk strings and simple lines without copying anything, so a large reply arriving in many pieces is not parsed
    /// (and copied) again after every piece. Any other type, or anything unexpected, answers false: then the real parser decides.
    /// </summary>
    private static bool SurelyIncomplete(ReadOnlySpan<byte> bytes)
    {
        int at = 0;
        long pending = 1; // values still to walk
        while (pending > 0)
        {
            if (at >= bytes.Length)
            {
                return true;
            }

            byte type = bytes[at];
            int eol = bytes[at..].IndexOf((byte)'\n');
            if (eol < 0)
            {
                return true;
            }

            if (eol < 1 || bytes[at + eol - 1] != (byte)'\r')
            {
                return false;
            }

            var header = bytes.Slice(at + 1, eol - 2);
            at += eol + 1;
            pending--;
            switch (type)
            {
                case (byte)'+' or (byte)'-' or (byte)':':
                    break;
                case (byte)'*' or (byte)'$':
                    if (!long.TryParse(header, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long length))
                    {
                        return false;
                    }

                    if (type == (byte)'*')
                    {
                        pending += Math.Max(0, length);
                    }
                    else if (length >= 0)
                    {
                        if (bytes.Length - at < length + 2)
                        {
                            return true;
                        }

                        at += (int)length + 2;
                    }

                    break;
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>Receives more bytes; false on EOF or reset.</summary>
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (ClosedByPeer)
        {
            return false;
        }

        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_buffer.Length - _end < 16 * 1024)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_buffer.Length - _end < 16 * 1024)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        int read;
        try
        {
            read = _tls is not null
                ? await _tls.ReadAsync(_buffer.AsMemory(_end), cancellationToken)
                : await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        }
        catch (Exception e) when (_tls is not null && e is IOException or AuthenticationException)
        {
            // A TLS session the server ended with an alert or a reset (a refused client certificate, a cut): closed.
            ClosedByPeer = true;
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (_end > _start)
            {
                throw new TimeoutException($"timed out waiting for the rest of a reply; have: '{Encoding.UTF8.GetString(_buffer, _start, Math.Min(_end - _start, 500))}'");
            }

            throw;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            ClosedByPeer = true;
            return false;
        }

        if (read == 0)
        {
            ClosedByPeer = true;
            return false;
        }

        _end += read;
        return true;
    }
}
