using System.Net;
using System.Net.Sockets;
using EventflowDb.Server.Network;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace EventflowDb.Tests.Unit;

/// <summary>The per-address log limiter of failed AUTHs and cross-protocol attempts, and the keepalive seam.</summary>
public sealed class AddressLogLimiterTests
{
    private const string Template = "event from {Address}: {Count}";

    private sealed class Capture : ILogEventSink
    {
        public List<(string Address, int Count)> Lines { get; } = [];

        public void Emit(LogEvent logEvent)
        {
            Assert.Equal(LogEventLevel.Warning, logEvent.Level);
            string address = ((ScalarValue)logEvent.Properties["Address"]).Value?.ToString() ?? "";
            int count = (int)((ScalarValue)logEvent.Properties["Count"]).Value!;
            Lines.Add((address, count));
        }
    }

    private static (AddressLogLimiter Limiter, Capture Capture, Action<long> Advance) Create(int capacity = 1024)
    {
        var capture = new Capture();
        var logger = new LoggerConfiguration().WriteTo.Sink(capture).CreateLogger();
        long now = 1_000_000;
        var limiter = new AddressLogLimiter(logger, Template, capacity, intervalMs: 1000, clockMs: () => now);
        return (limiter, capture, ms => now += ms);
    }

    [Fact]
    public void One_line_per_second_per_address_with_the_count_and_nothing_lost()
    {
        var (limiter, capture, advance) = Create();
        var a = IPAddress.Parse("10.0.0.1");
        var b = IPAddress.Parse("10.0.0.2");

        for (int i = 0; i < 100; i++)
        {
            limiter.Record(a);
        }

        limiter.Record(b);
        Assert.Equal([("10.0.0.1", 1), ("10.0.0.2", 1)], capture.Lines);

        advance(500);
        limiter.Flush();
        Assert.Equal(2, capture.Lines.Count);

        advance(500);
        limiter.Flush();
        Assert.Equal([("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.1", 99)], capture.Lines);

        // The next event within the second is held back, the one after it is logged with both.
        limiter.Record(a);
        advance(1000);
        limiter.Record(a);
        Assert.Equal(("10.0.0.1", 2), capture.Lines[^1]);
        Assert.Equal(102, capture.Lines.Where(l => l.Address == "10.0.0.1").Sum(l => l.Count));
    }

    [Fact]
    public void The_table_is_bounded_and_addresses_beyond_it_are_counted_together()
    {
        var (limiter, capture, advance) = Create(capacity: 8);
        for (int i = 0; i < 1000; i++)
        {
            limiter.Record(new IPAddress([10, 1, (byte)(i >> 8), (byte)i]));
            limiter.Record(new IPAddress([10, 1, (byte)(i >> 8), (byte)i]));
        }

        Assert.True(limiter.TrackedAddresses <= 9, $"{limiter.TrackedAddresses} addresses tracked");
        advance(1000);
        limiter.Flush();
        Assert.True(capture.Lines.Count <= 2 * 9, $"{capture.Lines.Count} lines");
        Assert.Equal(2000, capture.Lines.Sum(l => l.Count));
        Assert.Contains(capture.Lines, l => l.Address == "other addresses");

        // Quiet addresses are forgotten, so new ones are tracked on their own again.
        advance(1000);
        limiter.Flush();
        Assert.Equal(0, limiter.TrackedAddresses);
        limiter.Record(IPAddress.Parse("10.9.9.9"));
        Assert.Equal(("10.9.9.9", 1), capture.Lines[^1]);
    }

    [Fact]
    public void Keepalive_is_set_on_an_accepted_socket_as_redis_sets_it()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();
        Assert.Equal(0, (int)accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);

        TcpKeepAlive.Apply(accepted, TimeSpan.FromSeconds(300));
        Assert.NotEqual(0, (int)accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(300, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(100, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(3, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);

        TcpKeepAlive.Apply(accepted, TimeSpan.FromSeconds(2));
        Assert.Equal(2, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(1, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);

        TcpKeepAlive.Apply(accepted, TimeSpan.Zero);
        Assert.Equal(0, (int)accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
    }
}
