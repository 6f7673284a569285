using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EventflowDb.Testing;

/// <summary>
/// A TCP proxy in front of every cluster member's Raft port, which can cut the links between chosen members (a network
/// partition on one machine). Each member's identity in <c>--cluster-members</c> is its front port here; the member
/// really listens on its back port (<c>--cluster-listen</c>). Every peer connecting to a front port looks the same (a
/// loopback address and an ephemeral port), so the proxy finds which member opened a connection by the socket inode:
/// the row of <c>/proc/net/tcp</c> whose local port is the connection's remote port, then the member process holding
/// that inode in <c>/proc/&lt;pid&gt;/fd</c> (Linux only; members register their process ids with
/// <see cref="SetProcess"/>). A cut closes the existing connections of the pair at once (both directions) and closes
/// new ones as soon as they are accepted, so a member sees connection failures, as after a lost route.
/// Shared by the cluster tests and the bench's chaos mode (linked into both).
/// </summary>
public sealed class PartitionProxy : IAsyncDisposable
{
    private readonly int[] _backPorts;
    private readonly TcpListener[] _listeners;
    private readonly int[] _pids;
    private readonly HashSet<(int, int)> _cuts = [];
    private readonly HashSet<Link> _links = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private long _accepted;
    private long _refused;
    private long _unidentified;

    /// <summary>Listens on every front port (127.0.0.1) and forwards member i's front port to its back port.</summary>
    public PartitionProxy(IReadOnlyList<int> frontPorts, IReadOnlyList<int> backPorts)
    {
        if (frontPorts.Count != backPorts.Count)
        {
            throw new ArgumentException("one back port per front port", nameof(backPorts));
        }

        FrontPorts = [.. frontPorts];
        _backPorts = [.. backPorts];
        _pids = new int[frontPorts.Count];
        _listeners = new TcpListener[frontPorts.Count];
        for (int i = 0; i < _listeners.Length; i++)
        {
            _listeners[i] = new TcpListener(IPAddress.Loopback, frontPorts[i]);
            _listeners[i].Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listeners[i].Start(64);
            int target = i;
            _loops.Add(Task.Run(() => AcceptLoopAsync(target)));
        }
    }

    /// <summary>Every member's identity port (what <c>--cluster-members</c> lists).</summary>
    public IReadOnlyList<int> FrontPorts { get; }

    /// <summary>
    /// True: a cut drops the bytes of its links silently (as a lost route: the sender waits for time-outs) and a healed
    /// cut closes them. False (the default): a cut closes its links at once (the sender sees resets).
    /// </summary>
    public bool Drop { get; set; }

    /// <summary>Connections forwarded so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections closed at accept because their pair was cut.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Connections whose origin process was not found (forwarded unless their target is cut off from everyone).</summary>
    public long Unidentified => Interlocked.Read(ref _unidentified);

    /// <summary>Connections open now.</summary>
    public int OpenLinks
    {
        get
        {
            lock (_gate)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>A member's running process (again after each restart: the proxy tells members apart by it).</summary>
    public void SetProcess(int member, int pid) => Volatile.Write(ref _pids[member], pid);

    /// <summary>Cuts the link between <paramref name="a"/> and <paramref name="b"/> in both directions.</summary>
    public void Cut(int a, int b)
    {
        if (a == b)
        {
            throw new ArgumentException("a member has no link to itself");
        }

        List<Link> closing;
        lock (_gate)
        {
            // Links accepted before their member's process was registered: tell their origin now.
            foreach (var link in _links.Where(l => l.From < 0))
            {
                link.From = FindOrigin(link.RemotePort, FrontPorts[link.To]);
            }

            _cuts.Add((Math.Min(a, b), Math.Max(a, b)));
            closing = [.. _links.Where(l => IsCutLocked(l.From, l.To))];
        }

        foreach (var link in closing)
        {
            if (Drop)
            {
                link.Dropped = true;
            }
            else
            {
                link.Close();
            }
        }
    }

    /// <summary>Cuts every link of <paramref name="member"/>: it is alone on its side of the partition.</summary>
    public void Isolate(int member)
    {
        for (int other = 0; other < _backPorts.Length; other++)
        {
            if (other != member)
            {
                Cut(member, other);
            }
        }
    }

    /// <summary>Restores every link.</summary>
    public void Heal()
    {
        List<Link> dropped;
        lock (_gate)
        {
            _cuts.Clear();
            dropped = [.. _links.Where(l => l.Dropped)];
        }

        // Bytes were lost on these: their ends reconnect.
        foreach (var link in dropped)
        {
            link.Close();
        }
    }

    /// <summary>True when the link between the two members is cut.</summary>
    public bool IsCut(int a, int b)
    {
        lock (_gate)
        {
            return IsCutLocked(a, b);
        }
    }

    /// <summary>The member (index) whose process opened the connection with local port <paramref name="port"/> to <paramref name="frontPort"/>; -1 when not found.</summary>
    public int FindOrigin(int port, int frontPort)
    {
        long inode = FindInode(port, frontPort);
        if (inode <= 0)
        {
            return -1;
        }

        string socket = "socket:[" + inode.ToString(CultureInfo.InvariantCulture) + "]";
        for (int m = 0; m < _pids.Length; m++)
        {
            int pid = Volatile.Read(ref _pids[m]);
            if (pid > 0 && HoldsSocket(pid, socket))
            {
                return m;
            }
        }

        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        List<Link> all;
        lock (_gate)
        {
            all = [.. _links];
        }

        foreach (var link in all)
        {
            link.Close();
        }

        try
        {
            await Task.WhenAll(_loops);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>A cut pair, or a link to or from an unknown process (-1) when the known end is cut off from everyone.</summary>
    private bool IsCutLocked(int from, int to)
    {
        if (from < 0)
        {
            return Enumerable.Range(0, _backPorts.Length).All(o => o == to || _cuts.Contains((Math.Min(o, to), Math.Max(o, to))));
        }

        return _cuts.Contains((Math.Min(from, to), Math.Max(from, to)));
    }

    private async Task AcceptLoopAsync(int target)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listeners[target].AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = Task.Run(() => ForwardAsync(client, target));
        }
    }

    private async Task ForwardAsync(Socket client, int target)
    {
        client.NoDelay = true;
        int remotePort = ((IPEndPoint)client.RemoteEndPoint!).Port;
        int from = -1;
        bool anyCut;
        lock (_gate)
        {
            anyCut = _cuts.Count > 0;
        }

        // Telling the origin costs a walk of /proc: only while something is cut (a cut tells the open links' origins).
        for (int attempt = 0; anyCut && attempt < 5 && from < 0; attempt++)
        {
            from = FindOrigin(remotePort, FrontPorts[target]);
            if (from < 0)
            {
                await Task.Delay(10 * (attempt + 1));
            }
        }

        if (from < 0 && anyCut)
        {
            Interlocked.Increment(ref _unidentified);
        }

        var back = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var link = new Link(from, target, remotePort, client, back);
        lock (_gate)
        {
            bool cut = IsCutLocked(from, target);
            if ((cut && !Drop) || _stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _refused);
                link.Close();
                return;
            }

            link.Dropped = cut;
            _links.Add(link);
        }

        try
        {
            if (link.Dropped)
            {
                // A lost route: what the member sends goes nowhere, until a heal closes the link.
                Interlocked.Increment(ref _refused);
                await PumpAsync(client, back, link);
                return;
            }

            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(5));
            await back.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _backPorts[target]), connectTimeout.Token);
            Interlocked.Increment(ref _accepted);
            await Task.WhenAll(PumpAsync(client, back, link), PumpAsync(back, client, link));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _links.Remove(link);
            }

            link.Close();
        }
    }

    private static async Task PumpAsync(Socket source, Socket destination, Link link)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await source.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                int sent = link.Dropped ? n : 0;
                while (sent < n)
                {
                    sent += await destination.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            // Either side ending ends the link (a half-open link would hide a cut).
            link.Close();
        }
    }

    /// <summary>The inode of the socket whose local port is <paramref name="localPort"/> and remote port <paramref name="remotePort"/> (IPv4 and IPv6 tables).</summary>
    private static long FindInode(int localPort, int remotePort)
    {
        foreach (string table in (ReadOnlySpan<string>)["/proc/net/tcp", "/proc/net/tcp6"])
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(table);
            }
            catch (IOException)
            {
                continue;
            }

            for (int i = 1; i < lines.Length; i++)
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                string[] f = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || PortOf(f[1]) != localPort || PortOf(f[2]) != remotePort)
                {
                    continue;
                }

                if (long.TryParse(f[9], NumberStyles.None, CultureInfo.InvariantCulture, out long inode) && inode > 0)
                {
                    return inode;
                }
            }
        }

        return 0;
    }

    private static int PortOf(string address)
    {
        int colon = address.LastIndexOf(':');
        return colon >= 0 && int.TryParse(address.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int port) ? port : -1;
    }

    private static bool HoldsSocket(int pid, string socket)
    {
        try
        {
            foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget == socket)
                    {
                        return true;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return false;
    }

    private sealed class Link(int from, int to, int remotePort, Socket client, Socket back)
    {
        private int _closed;

        /// <summary>True once a cut drops this link's bytes.</summary>
        private volatile bool _dropped;

        public bool Dropped
        {
            get => _dropped;
            set => _dropped = value;
        }

        /// <summary>The member that opened the link; -1 while unknown.</summary>
        public int From { get; set; } = from;

        public int RemotePort { get; } = remotePort;

        public int To { get; } = to;

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            foreach (var socket in (ReadOnlySpan<Socket>)[client, back])
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }

                socket.Dispose();
            }
        }
    }
}
