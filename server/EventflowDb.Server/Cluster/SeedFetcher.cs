using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EventflowDb.Server.Commands.Server;
using EventflowDb.Server.Network.Tls;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>What one fetch copied: the store as of <paramref name="LastId"/> with its checksum, and the files.</summary>
/// <param name="LastId">The copy's last event (the zero id for an empty store).</param>
/// <param name="Checksum">The chained checksum at <paramref name="LastId"/> (CHECKSUM's value): a server on the copy reports it.</param>
/// <param name="Events">Events in the copy.</param>
/// <param name="Files">Files written into the target directory.</param>
/// <param name="Bytes">Bytes written into the target directory.</param>
/// <param name="RaftIndex">Every Raft entry through this index is in the copy (the source's durable index before it copied).</param>
internal sealed record SeedResult(Ulid LastId, ulong Checksum, long Events, int Files, long Bytes, long RaftIndex);

/// <summary>How the fetcher authenticates: <c>AUTH user password</c> with a user, <c>AUTH password</c> without, nothing when both are null.</summary>
internal sealed record SeedCredentials(string? User, string? Password)
{
    public static SeedCredentials None { get; } = new(null, null);
}

/// <summary>
/// Plain TCP, or TLS to the member's TLS port: presenting <see cref="ClientCertificate"/> when there is one, and
/// accepting the server only when its certificate chains to <see cref="TrustedCertificates"/> (host names are not checked:
/// members know each other by address, as on the peer port), or, without any, when the system validates it for the host.
/// </summary>
internal sealed record SeedTransport
{
    private static readonly System.Security.Cryptography.Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    private SeedTransport()
    {
    }

    public static SeedTransport Plain { get; } = new();

    public bool UseTls { get; private init; }

    public X509Certificate2? ClientCertificate { get; private init; }

    public X509Certificate2Collection? TrustedCertificates { get; private init; }

    public static SeedTransport Tls(X509Certificate2? clientCertificate, X509Certificate2Collection? trustedCertificates) =>
        new() { UseTls = true, ClientCertificate = clientCertificate, TrustedCertificates = trustedCertificates };

    /// <summary>TLS with what this member loaded: its own certificate (<c>--tls-cert-file</c>) and CA file (<c>--tls-ca-cert-file</c>).</summary>
    public static SeedTransport Tls(TlsMaterial material)
    {
        ArgumentNullException.ThrowIfNull(material);
        return Tls(material.Certificate, material.TrustedCertificates.Count > 0 ? material.TrustedCertificates : null);
    }

    internal SslClientAuthenticationOptions ClientOptions(string host) => new()
    {
        TargetHost = host,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        ClientCertificates = ClientCertificate is null ? null : [ClientCertificate],
        LocalCertificateSelectionCallback = ClientCertificate is null ? null : (_, _, _, _, _) => ClientCertificate,
        RemoteCertificateValidationCallback = TrustedCertificates is { Count: > 0 } trusted
            ? (_, certificate, chain, _) => certificate is not null && TlsMaterial.ChainsTo(certificate, chain, trusted, ServerAuthentication)
            : null,
        AllowRenegotiation = false,
    };
}

/// <summary>
/// The fetching side of SEED (<see cref="SeedCommand"/>): copies a live member's store, over its RESP port, into a
/// directory of this member (<c>&lt;data&gt;/raft/seed-in</c>), which then is a data directory holding exactly the
/// source's store and consumer groups as of its SEED BEGIN.
/// </summary>
internal static class SeedFetcher
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>BEGIN copies the whole store first (a large one on a slow disk takes minutes); a source silent longer is hung.</summary>
    private static readonly TimeSpan BeginTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Every reply but BEGIN's (which copies the whole store first) must arrive within this time.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Connects to <paramref name="address"/> (host:port), authenticates, runs SEED BEGIN, READs every listed file into
    /// <paramref name="targetDirectory"/> (emptied first), checks and fsyncs them, and ends the seed. Any error reply or
    /// I/O failure is an <see cref="IOException"/> whose message starts with the address; the target directory is then
    /// incomplete (the next fetch empties it). Cancelling <paramref name="token"/> throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static Task<SeedResult> FetchAsync(string address, SeedCredentials credentials, SeedTransport transport, string targetDirectory, Serilog.ILogger logger, CancellationToken token) =>
        // On the thread pool from the start: writing and fsyncing a whole store blocks threads for seconds, never the caller's
        // (a synchronization context with few threads, as a test runner's, would stall everything else on it).
        Task.Run(() => FetchCoreAsync(address, credentials, transport, targetDirectory, logger, token), token);

    private static async Task<SeedResult> FetchCoreAsync(string address, SeedCredentials credentials, SeedTransport transport, string targetDirectory, Serilog.ILogger logger, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(logger);
        var (host, port) = Configuration.OptionsParser.ParseHostPort(address, "seed address");
        string target = Path.GetFullPath(targetDirectory);
        try
        {
            using var client = new TcpClient { NoDelay = true };
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                connect.CancelAfter(ConnectTimeout);
                try
                {
                    await client.ConnectAsync(host, port, connect.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new IOException($"no connection within {ConnectTimeout.TotalSeconds:0} s");
                }
            }

            Stream stream = client.GetStream();
            if (transport.UseTls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
                handshake.CancelAfter(ConnectTimeout);
                try
                {
                    await tls.AuthenticateAsClientAsync(transport.ClientOptions(host), handshake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new IOException($"no TLS handshake within {ConnectTimeout.TotalSeconds:0} s");
                }
            }

            await using var _ = stream.ConfigureAwait(false);
            var connection = new Connection(stream);
            if (credentials.Password is { } password)
            {
                string[] auth = credentials.User is { } user ? ["AUTH", user, password] : ["AUTH", password];
                Expect(await connection.CallAsync(auth, ReplyTimeout, token).ConfigureAwait(false), Kind.Simple);
            }

            var begin = Expect(await connection.CallAsync(["SEED", "BEGIN"], BeginTimeout, token).ConfigureAwait(false), Kind.Array);
            var seed = Parse(begin);
            logger.Information("Seed {SeedId} from {Address}: {Events} events up to {LastId}, {Files} files, {Bytes} bytes", seed.Id, address, seed.Events, seed.LastId, seed.Files.Count, seed.Files.Sum(f => f.Size));

            Empty(target);
            long bytes = 0;
            var directories = new HashSet<string>(StringComparer.Ordinal) { target };
            foreach (var (path, size) in seed.Files)
            {
                string file = TargetPath(target, path);
                string directory = Path.GetDirectoryName(file)!;
                Directory.CreateDirectory(directory);
                for (string d = directory; d.Length > target.Length; d = Path.GetDirectoryName(d)!)
                {
                    directories.Add(d);
                }

                using var output = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                long offset = 0;
                while (offset < size)
                {
                    string[] read = ["SEED", "READ", seed.Id, path, offset.ToString(CultureInfo.InvariantCulture)];
                    var chunk = Expect(await connection.CallAsync(read, ReplyTimeout, token).ConfigureAwait(false), Kind.Bulk);
                    if (chunk.Bulk.Length == 0 || chunk.Bulk.Length > size - offset)
                    {
                        throw new IOException($"{path}: {chunk.Bulk.Length} bytes at offset {offset} of a file of {size} bytes");
                    }

                    await output.WriteAsync(chunk.Bulk, token).ConfigureAwait(false);
                    offset += chunk.Bulk.Length;
                }

                output.Flush(flushToDisk: true);
                if (output.Length != size)
                {
                    throw new IOException($"{path}: {output.Length} bytes fetched, {size} listed");
                }

                bytes += size;
            }

            // Deepest first, so each directory's entry is durable in its parent once the parent is synced.
            foreach (string directory in directories.OrderByDescending(d => d.Length))
            {
                AtomicFile.SyncDirectory(directory);
            }

            Expect(await connection.CallAsync(["SEED", "END", seed.Id], ReplyTimeout, token).ConfigureAwait(false), Kind.Simple);
            logger.Information("Seed {SeedId} from {Address} fetched into {Directory}: {Files} files, {Bytes} bytes", seed.Id, address, target, seed.Files.Count, bytes);
            return new SeedResult(seed.LastId, seed.Checksum, seed.Events, seed.Files.Count, bytes, seed.RaftIndex);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or UnauthorizedAccessException or FormatException or ArgumentException or OverflowException or TimeoutException)
        {
            logger.Warning("Seed from {Address} failed: {Error}", address, e.Message);
            throw new IOException($"{address}: {e.Message}", e);
        }
    }

    /// <summary>The BEGIN reply: <c>[id, last event id, checksum hex, events, Raft index, path, size, ...]</c>.</summary>
    private static (string Id, Ulid LastId, ulong Checksum, long Events, long RaftIndex, List<(string Path, long Size)> Files) Parse(Reply begin)
    {
        var items = begin.Items;
        if (items.Count < 5 || items.Count % 2 != 1)
        {
            throw new IOException($"SEED BEGIN replied {items.Count} items");
        }

        string id = Text(items[0]);
        var lastId = Ulid.Parse(Text(items[1]));
        ulong checksum = ulong.Parse(Text(items[2]), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        long events = Number(items[3]);
        long raftIndex = Number(items[4]);
        var files = new List<(string, long)>();
        for (int i = 5; i < items.Count; i += 2)
        {
            long size = Number(items[i + 1]);
            if (size < 0)
            {
                throw new IOException($"SEED BEGIN listed a negative size {size}");
            }

            files.Add((Text(items[i]), size));
        }

        return (id, lastId, checksum, events, raftIndex, files);

        static string Text(Reply r) => r.Kind == Kind.Bulk ? Encoding.UTF8.GetString(r.Bulk.Span) : throw new IOException("SEED BEGIN: a bulk string expected");
        static long Number(Reply r) => r.Kind == Kind.Integer ? r.Integer : throw new IOException("SEED BEGIN: an integer expected");
    }

    /// <summary>
    /// Where a listed file goes: a relative path of plain names below the target, whatever the server sent (a file
    /// outside it, or the target itself, is refused).
    /// </summary>
    private static string TargetPath(string target, string path)
    {
        string[] parts = path.Split('/');
        if (path.Length == 0 || parts.Any(p => p.Length == 0 || p is "." or ".." || p.Contains('\\', StringComparison.Ordinal) || p.Contains('\0', StringComparison.Ordinal)))
        {
            throw new IOException($"SEED BEGIN listed an unsafe path '{path}'");
        }

        string full = Path.GetFullPath(Path.Combine([target, .. parts]));
        return full.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? full
            : throw new IOException($"SEED BEGIN listed a path outside the target '{path}'");
    }

    /// <summary>The target is this member's own scratch directory: whatever a previous fetch left there goes.</summary>
    private static void Empty(string target)
    {
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        Directory.CreateDirectory(target);
    }

    private static Reply Expect(Reply reply, Kind kind) => reply.Kind switch
    {
        Kind.Error => throw new IOException(reply.Message),
        _ when reply.Kind != kind => throw new IOException($"unexpected reply of type {reply.Kind} (expected {kind})"),
        _ => reply,
    };

    /// <summary>One RESP2 reply: a simple string or error (<see cref="Message"/>), an integer, a bulk string, or an array.</summary>
    private enum Kind
    {
        Simple,
        Error,
        Integer,
        Bulk,
        Array,
    }

    private sealed class Reply
    {
        public Kind Kind { get; init; }

        public string Message { get; init; } = "";

        public long Integer { get; init; }

        public ReadOnlyMemory<byte> Bulk { get; init; }

        public List<Reply> Items { get; init; } = [];
    }

    /// <summary>
    /// The client side of the connection: writes commands, reads replies with every length bounded (a bulk string by the
    /// SEED chunk, a line by <see cref="MaxLine"/>, an array by <see cref="MaxItems"/>), allocating only what arrived.
    /// </summary>
    private sealed class Connection(Stream stream)
    {
        private const int MaxLine = 64 * 1024;

        // BEGIN lists two items per file: a million files is a store of 32 TiB in 32 MiB segments.
        private const int MaxItems = 2_000_000;

        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<Reply> CallAsync(string[] args, TimeSpan timeout, CancellationToken token)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
            limit.CancelAfter(timeout);
            try
            {
                var request = new StringBuilder();
                request.Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
                foreach (string arg in args)
                {
                    request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
                }

                await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), limit.Token).ConfigureAwait(false);
                await stream.FlushAsync(limit.Token).ConfigureAwait(false);
                return await ReadAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new IOException($"no reply to {args[0]} {args[1]} within {timeout.TotalSeconds:0} s");
            }
        }

        private async Task<Reply> ReadAsync(CancellationToken token)
        {
            string line = await ReadLineAsync(token).ConfigureAwait(false);
            if (line.Length == 0)
            {
                throw new IOException("empty reply line");
            }

            string rest = line[1..];
            switch (line[0])
            {
                case '+':
                    return new Reply { Kind = Kind.Simple, Message = rest };
                case '-':
                    return new Reply { Kind = Kind.Error, Message = rest };
                case ':':
                    return new Reply { Kind = Kind.Integer, Integer = ParseLength(rest, long.MinValue, long.MaxValue) };
                case '$':
                    {
                        long length = ParseLength(rest, 0, SeedCommand.ChunkBytes);
                        byte[] bulk = new byte[length];
                        await ReadExactlyAsync(bulk, token).ConfigureAwait(false);
                        await ReadExactlyAsync(new byte[2], token).ConfigureAwait(false);
                        return new Reply { Kind = Kind.Bulk, Bulk = bulk };
                    }

                case '*':
                    {
                        long count = ParseLength(rest, 0, MaxItems);
                        var items = new List<Reply>();
                        for (long i = 0; i < count; i++)
                        {
                            items.Add(await ReadAsync(token).ConfigureAwait(false));
                        }

                        return new Reply { Kind = Kind.Array, Items = items };
                    }

                default:
                    throw new IOException($"unexpected reply type '{line[0]}'");
            }
        }

        private static long ParseLength(string text, long min, long max) =>
            long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) && value >= min && value <= max
                ? value
                : throw new IOException($"bad length or integer '{text}' in a reply (at most {max})");

        private async Task<string> ReadLineAsync(CancellationToken token)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end)
                {
                    await FillAsync(token).ConfigureAwait(false);
                }

                int newline = System.Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                int take = (newline < 0 ? _end : newline + 1) - _start;
                if (line.Count + take > MaxLine)
                {
                    throw new IOException("reply line too long");
                }

                line.AddRange(_buffer.AsSpan(_start, take));
                _start += take;
                if (newline >= 0)
                {
                    if (line.Count < 2 || line[^2] != '\r')
                    {
                        throw new IOException("reply line without CRLF");
                    }

                    return Encoding.UTF8.GetString(line.ToArray(), 0, line.Count - 2);
                }
            }
        }

        private async Task ReadExactlyAsync(Memory<byte> target, CancellationToken token)
        {
            while (target.Length > 0)
            {
                if (_start == _end)
                {
                    await FillAsync(token).ConfigureAwait(false);
                }

                int take = Math.Min(target.Length, _end - _start);
                _buffer.AsMemory(_start, take).CopyTo(target);
                _start += take;
                target = target[take..];
            }
        }

        private async Task FillAsync(CancellationToken token)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, token).ConfigureAwait(false);
            if (_end == 0)
            {
                throw new IOException("the connection was closed");
            }
        }
    }
}
