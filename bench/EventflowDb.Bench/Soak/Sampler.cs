using System.Globalization;
using System.Net.Sockets;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// Takes a <see cref="SoakSample"/>: /proc for the server's RSS and threads, and a monitor connection of its own for
/// <c>INFO clients</c> and <c>EVENTCOUNT</c> (reconnected when it fails; the figure is then unknown for that second).
/// </summary>
internal sealed class Sampler(int pid, int port, SoakCounters counters) : IDisposable
{
    private static readonly byte[] InfoClients = RespCommand.Encode("INFO", "clients");
    private static readonly byte[] EventCount = RespCommand.Encode("EVENTCOUNT");
    private SoakConnection? _monitor;

    public SoakSample Take(double seconds)
    {
        var status = ProcStatus.Read(pid);
        int clients = -1;
        long events = -1;
        try
        {
            _monitor ??= new SoakConnection(port, TimeSpan.FromSeconds(5));
            _monitor.Send(InfoClients);
            var info = _monitor.ReadReply(keepBulk: true);
            clients = ConnectedClients(info.Text);
            var count = _monitor.Call(EventCount);
            events = count.Kind == ReplyKind.Integer ? count.Integer : -1;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            counters.Unexpected(Counter.LoadErrors, "monitor (INFO clients, EVENTCOUNT)", $"{e.GetType().Name}: {e.Message}");
            _monitor?.Dispose();
            _monitor = null;
        }

        return new SoakSample(seconds, status?.ResidentBytes ?? -1, status?.Threads ?? -1, clients, events, counters.Snapshot());
    }

    /// <summary>A command on the monitor connection (for the figures taken once at the end); null when it failed.</summary>
    public Reply? Call(params string[] args)
    {
        try
        {
            _monitor ??= new SoakConnection(port, TimeSpan.FromSeconds(30));
            return _monitor.Call(RespCommand.Encode(args));
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            return null;
        }
    }

    public void Dispose() => _monitor?.Dispose();

    private static int ConnectedClients(string? info)
    {
        foreach (var line in (info ?? "").Split('\n'))
        {
            if (line.StartsWith("connected_clients:", StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(18).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                return n;
            }
        }

        return -1;
    }
}
