using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventflowDb.Bench.Resp;
using HdrHistogram;

namespace EventflowDb.Bench.Compare;

/// <summary>
/// <c>subscribe [--seconds 5]</c>: EventflowDB's push subscriptions (<c>SUBSCRIBE $all</c> on raw sockets).
/// Append-to-delivery latency with 1 and with 100 subscribers (each event carries its send time in its data), and the
/// events per second one subscriber receives while writers append batches. Writes the "Subscriptions" section of
/// docs/benchmarks.md (the rest of the file is left as <c>compare</c> wrote it).
/// </summary>
internal static class SubscribeRun
{
    private const int Port = 16546;
    private const string SectionTitle = "## Subscriptions (EventflowDB only)";

    public static async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length >= 2 && args[0] == "--seconds" ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var duration = TimeSpan.FromSeconds(seconds);
        var total = Stopwatch.StartNew();
        string root = Repo.Root();
        Console.WriteLine("Building the server (Release)...");
        var build = await Shell.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(root, "server/EventflowDb.Server/EventflowDb.Server.csproj")]).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            Console.Error.WriteLine(build.Output);
            return 1;
        }

        string dll = Path.Combine(root, "server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll");
        var temp = Directory.CreateTempSubdirectory("efdb-subscribe-");
        var rows = new List<string>();
        try
        {
            using var server = ServerProcess.Eventflow(dll, Path.Combine(temp.FullName, "data"), Port, "always");
            await server.StartAsync().ConfigureAwait(false);
            foreach (int subscribers in (int[])[1, 100])
            {
                Console.WriteLine($"== latency, {subscribers} subscriber(s)");
                var latency = Latency(subscribers, duration);
                Console.WriteLine($"  {latency}");
                rows.Add(latency.Row());
            }

            Console.WriteLine("== throughput, 1 subscriber, 4 writers of 100-event batches");
            var throughput = Throughput(duration);
            Console.WriteLine($"  {throughput}");
            rows.Add(throughput);
            Console.WriteLine("== catch-up, FOLLOW $all 0 over the whole log");
            var catchUp = CatchUp();
            Console.WriteLine($"  {catchUp}");
            rows.Add(catchUp);
            await server.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }

        string path = Path.Combine(root, "docs", "benchmarks.md");
        string existing = File.Exists(path) ? await File.ReadAllTextAsync(path).ConfigureAwait(false) : "# Benchmarks\n";
        await File.WriteAllTextAsync(path, MergeSection(existing, Section(rows, seconds))).ConfigureAwait(false);
        Console.WriteLine($"Wrote the Subscriptions section of docs/benchmarks.md in {total.Elapsed.TotalSeconds:0} s");
        return 0;
    }

    /// <summary>
    /// <paramref name="report"/> with <paramref name="section"/> in place of its Subscriptions section (up to the next
    /// <c>## </c> heading), or inserted before "Reading these numbers" (or at the end) when it has none.
    /// </summary>
    public static string MergeSection(string report, string section)
    {
        int start = report.IndexOf(SectionTitle, StringComparison.Ordinal);
        if (start >= 0)
        {
            int next = report.IndexOf("\n## ", start + SectionTitle.Length, StringComparison.Ordinal);
            return report[..start] + section + (next >= 0 ? report[(next + 1)..] : "");
        }

        int reading = report.IndexOf("## Reading these numbers", StringComparison.Ordinal);
        return reading >= 0 ? report[..reading] + section + report[reading..] : report.TrimEnd() + "\n\n" + section;
    }

    /// <summary>The Subscriptions section of a report written earlier, to carry over into a new one ("" when none).</summary>
    public static string ExistingSection(string report)
    {
        int start = report.IndexOf(SectionTitle, StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }

        int next = report.IndexOf("\n## ", start + SectionTitle.Length, StringComparison.Ordinal);
        return next >= 0 ? report[start..(next + 1)] : report[start..].TrimEnd() + "\n\n";
    }

    private static string Section(List<string> rows, double seconds)
    {
        var md = new StringBuilder();
        md.AppendLine(SectionTitle);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated by `dotnet run -c Release --project bench/EventflowDb.Bench -- subscribe` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {seconds:0.#} s per measure, `--fsync always`;");
        md.AppendLine("the server, the writers and the subscribers share the machine. Subscribers are raw-socket connections that sent `SUBSCRIBE $all` (RESP2 `message` frames).");
        md.AppendLine();
        md.AppendLine("| measure | events | delivered /s | p50 ms | p99 ms | p99.9 ms | max ms | notes |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            md.AppendLine(row);
        }

        md.AppendLine();
        md.AppendLine("- **Latency** is append-to-delivery: one writer connection sends `ADD lat any T {\"t\":<send timestamp>}` at a steady 500 events/s");
        md.AppendLine("  (one at a time), each subscriber reads the timestamp back from the event's data on arrival; an HdrHistogram per subscriber, merged.");
        md.AppendLine("  It includes the fsync of the commit: an event is delivered only once its commit is durable, the moment its ADD is acknowledged, so the two track each other.");
        md.AppendLine("  With 100 subscribers, every event is 100 frames; the first second is a warm-up and not recorded.");
        md.AppendLine("- **Throughput**: 4 writer connections append batches of 100 events in a closed loop; one subscriber counts the frames it receives");
        md.AppendLine("  from the first to the last event; \"appended /s\" is what the writers stored meanwhile. When the two match, the subscriber kept up and the writers set the pace;");
        md.AppendLine("  catch-up (`FOLLOW $all 0` over the log the run wrote, no writers) shows the delivery ceiling of one connection.");
        md.AppendLine("- Redis has no direct equivalent (its pub/sub is not durable and has no history); the nearest would be `XREAD BLOCK` on a stream, not measured here.");
        md.AppendLine();
        return md.ToString();
    }

    private sealed record LatencyResult(int Subscribers, long Events, long Deliveries, double Seconds, LongHistogram Histogram, LongHistogram Ack)
    {
        public string Row() => string.Create(
            CultureInfo.InvariantCulture,
            $"| append-to-delivery latency, {Subscribers} subscriber{(Subscribers == 1 ? "" : "s")} on `$all` | {Events:N0} | {Deliveries / Seconds:N0} | {Ms(Histogram.GetValueAtPercentile(50))} | {Ms(Histogram.GetValueAtPercentile(99))} | {Ms(Histogram.GetValueAtPercentile(99.9))} | {Ms(Histogram.GetMaxValue())} | ADD acknowledged after p50 {Ms(Ack.GetValueAtPercentile(50))} ms, p99 {Ms(Ack.GetValueAtPercentile(99))} ms |");

        public override string ToString() => Row();
    }

    private static string Ms(long micros) => (micros / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    private static LatencyResult Latency(int subscriberCount, TimeSpan duration)
    {
        var warmUp = TimeSpan.FromSeconds(1);
        var subscribers = Enumerable.Range(0, subscriberCount).Select(_ => new Subscriber(Port)).ToList();
        var histograms = new LongHistogram[subscriberCount];
        var deliveries = new long[subscriberCount];
        long recordFrom = long.MaxValue;
        long sent = 0;
        long done = 0;
        var threads = Enumerable.Range(0, subscriberCount).Select(i => new Thread(() =>
        {
            var histogram = new LongHistogram(60_000_000, 3);
            var s = subscribers[i];
            while (true)
            {
                var payload = s.ReadMessage();
                long now = Stopwatch.GetTimestamp();
                long t = SendTime(payload);
                if (t < 0)
                {
                    break; // the writer's end marker
                }

                if (t >= Volatile.Read(ref recordFrom))
                {
                    histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(t, now).TotalMicroseconds));
                    deliveries[i]++;
                }
            }

            histograms[i] = histogram;
        })
        { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());

        var ack = new LongHistogram(60_000_000, 3);
        var interval = TimeSpan.FromMilliseconds(2); // 500 events/s
        using (var writer = new RespConnection(Port))
        {
            var watch = Stopwatch.StartNew();
            long tick = 0;
            while (watch.Elapsed < warmUp + duration)
            {
                if (Volatile.Read(ref recordFrom) == long.MaxValue && watch.Elapsed >= warmUp)
                {
                    Volatile.Write(ref recordFrom, Stopwatch.GetTimestamp());
                }

                var due = interval * tick++;
                var wait = due - watch.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    Thread.Sleep(wait);
                }

                long start = Stopwatch.GetTimestamp();
                writer.Call(RespCommand.Encode("ADD", "lat", "any", "T", $"{{\"t\":{start}}}"));
                if (start >= Volatile.Read(ref recordFrom))
                {
                    ack.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
                    sent++;
                }
            }

            writer.Call(RespCommand.Encode("ADD", "lat", "any", "T", "{\"t\":-1}"));
            done = Stopwatch.GetTimestamp();
        }

        threads.ForEach(t => t.Join());
        subscribers.ForEach(s => s.Dispose());
        var total = new LongHistogram(60_000_000, 3);
        foreach (var h in histograms)
        {
            total.Add(h);
        }

        double seconds = Stopwatch.GetElapsedTime(recordFrom, done).TotalSeconds;
        return new LatencyResult(subscriberCount, sent, deliveries.Sum(), seconds, total, ack);
    }

    private static string Throughput(TimeSpan duration)
    {
        const int Writers = 4;
        const int Batch = 100;
        using var subscriber = new Subscriber(Port);
        long delivered = 0;
        long first = 0;
        long last = 0;
        var reader = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    subscriber.ReadMessage();
                    long now = Stopwatch.GetTimestamp();
                    if (first == 0)
                    {
                        first = now;
                    }

                    Volatile.Write(ref last, now);
                    Interlocked.Increment(ref delivered);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                // closed by the measurement once everything arrived
            }
        })
        { IsBackground = true };
        reader.Start();

        var batch = new List<string> { "ADD", "", "any" };
        for (int i = 0; i < Batch; i++)
        {
            batch.Add("T");
            batch.Add("{\"a\":1}");
        }

        var appended = new long[Writers];
        var watch = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            var args = batch.ToArray();
            args[1] = $"thr-{w}";
            var request = RespCommand.Encode(args);
            using var connection = new RespConnection(Port);
            while (watch.Elapsed < duration)
            {
                connection.Call(request);
                appended[w] += Batch;
            }
        })
        { IsBackground = true }).ToList();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.Join());
        long writersStopped = Stopwatch.GetTimestamp();
        double appendSeconds = watch.Elapsed.TotalSeconds;
        long expected = appended.Sum();
        var waiting = Stopwatch.StartNew();
        while (Volatile.Read(ref delivered) < expected && waiting.Elapsed < TimeSpan.FromMinutes(2))
        {
            Thread.Sleep(10);
        }

        subscriber.Dispose();
        reader.Join();
        last = Volatile.Read(ref last);
        double seconds = Stopwatch.GetElapsedTime(first, last).TotalSeconds;
        double lagAfterWriters = Math.Max(0, Stopwatch.GetElapsedTime(writersStopped, last).TotalSeconds);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"| subscriber throughput, 1 subscriber on `$all`, 4 writers of 100-event batches | {delivered:N0} | {delivered / seconds:N0} | | | | | appended {appended.Sum() / appendSeconds:N0} /s; last event delivered {lagAfterWriters:0.00} s after the writers stopped |");
    }

    /// <summary>One subscriber reads the whole log with <c>FOLLOW $all 0</c> (history only, no writers): its delivery rate.</summary>
    private static string CatchUp()
    {
        long events;
        using (var c = new RespConnection(Port))
        {
            events = c.CallInteger(RespCommand.Encode("EVENTCOUNT"));
        }

        using var subscriber = new Subscriber(Port, "FOLLOW", "$all", "0");
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < events; i++)
        {
            subscriber.ReadMessage();
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"| catch-up throughput, `FOLLOW $all 0` over the whole log, 1 subscriber | {events:N0} | {events / seconds:N0} | | | | | history only (no writers), {seconds:0.00} s |");
    }

    /// <summary>The <c>"t"</c> of an event's data (<c>{"t":123}</c>), or -1 when it is negative.</summary>
    private static long SendTime(ReadOnlySpan<byte> json)
    {
        int at = json.IndexOf("\"data\":{\"t\":"u8);
        if (at < 0)
        {
            throw new InvalidDataException("event without a send time: " + Encoding.UTF8.GetString(json));
        }

        var rest = json[(at + 12)..];
        return Utf8Parser.TryParse(rest, out long value, out _) ? value : throw new InvalidDataException("bad send time");
    }

    /// <summary>A raw-socket subscriber: sends <c>SUBSCRIBE $all</c>, then reads <c>message</c> frames.</summary>
    private sealed class Subscriber : IDisposable
    {
        private readonly Socket _socket;
        private byte[] _buffer = new byte[1 << 20];
        private int _start;
        private int _end;

        public Subscriber(int port)
            : this(port, "SUBSCRIBE", "$all")
        {
        }

        public Subscriber(int port, params string[] command)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket.Connect("127.0.0.1", port);
            _socket.Send(RespCommand.Encode(command));
            var confirm = ReadFrame();
            if (!confirm.StartsWith("subscribe"u8))
            {
                throw new InvalidDataException("SUBSCRIBE was not confirmed");
            }
        }

        /// <summary>The payload (event JSON) of the next <c>message</c> frame.</summary>
        public ReadOnlySpan<byte> ReadMessage() => ReadFrame(last: true);

        public void Dispose() => _socket.Dispose();

        /// <summary>Reads one array of bulk strings; returns its first (or last) item.</summary>
        private ReadOnlySpan<byte> ReadFrame(bool last = false)
        {
            Expect((byte)'*');
            long count = Number();
            int itemStart = 0;
            int itemLength = 0;
            for (long i = 0; i < count; i++)
            {
                byte type = Byte();
                long n = Number();
                if (type == (byte)':')
                {
                    continue;
                }

                Fill((int)n + 2);
                if (i == 0 || last)
                {
                    itemStart = _start;
                    itemLength = (int)n;
                }

                _start += (int)n + 2;
            }

            return _buffer.AsSpan(itemStart, itemLength);
        }

        private void Expect(byte type)
        {
            byte b = Byte();
            if (b != type)
            {
                throw new InvalidDataException($"expected '{(char)type}', got '{(char)b}'");
            }
        }

        private byte Byte()
        {
            Fill(1);
            return _buffer[_start++];
        }

        private long Number()
        {
            long value = 0;
            bool negative = false;
            while (true)
            {
                byte b = Byte();
                if (b == (byte)'-')
                {
                    negative = true;
                }
                else if (b == (byte)'\r')
                {
                    Byte();
                    return negative ? -value : value;
                }
                else
                {
                    value = (value * 10) + (b - '0');
                }
            }
        }

        /// <summary>Ensures <paramref name="count"/> bytes are buffered from <see cref="_start"/> (earlier bytes may move).</summary>
        private void Fill(int count)
        {
            if (_end - _start >= count)
            {
                return;
            }

            if (_start > 0 && _start == _end)
            {
                _start = _end = 0;
            }

            if (_buffer.Length - _start < count)
            {
                if (count > _buffer.Length / 2)
                {
                    Array.Resize(ref _buffer, count * 2);
                }

                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            while (_end - _start < count)
            {
                int n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("connection closed");
                }

                _end += n;
            }
        }
    }
}
