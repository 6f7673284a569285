using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventflowDb.Cli.Infrastructure;
using EventflowDb.Client;
using HdrHistogram;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary>
/// <c>efdb bench</c>: a quick ADD load test. Each connection (its own client) keeps <c>--pipeline</c> ADDs in flight,
/// each to its own stream, until <c>--requests</c> ADDs are acknowledged in all; prints throughput and latency
/// percentiles (HdrHistogram, per ADD from send to durable acknowledgement).
/// </summary>
public sealed class BenchCommand : AsyncCommand<BenchCommand.Settings>
{
    private const long HighestMicroseconds = 60_000_000;

    /// <summary>Options of bench.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>Connections.</summary>
        [CommandOption("--connections <N>")]
        [Description("Connections (default 8).")]
        [DefaultValue(8)]
        public int Connections { get; set; } = 8;

        /// <summary>ADDs in all.</summary>
        [CommandOption("--requests <N>")]
        [Description("ADDs in all (default 20000).")]
        [DefaultValue(20_000)]
        public int Requests { get; set; } = 20_000;

        /// <summary>ADDs in flight per connection.</summary>
        [CommandOption("--pipeline <N>")]
        [Description("ADDs in flight per connection (default 1).")]
        [DefaultValue(1)]
        public int Pipeline { get; set; } = 1;

        /// <summary>Event data size.</summary>
        [CommandOption("--size <BYTES>")]
        [Description("Bytes of event data per ADD (default 100).")]
        [DefaultValue(100)]
        public int Size { get; set; } = 100;

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (Connections is < 1 or > 1000 || Pipeline is < 1 or > 1000 || Requests < 1 || Size is < 8 or > 1_000_000)
            {
                return ValidationResult.Error("--connections and --pipeline must be 1..1000, --requests at least 1, --size 8..1000000");
            }

            return base.Validate();
        }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var clients = new List<EventflowDbClient>();
        try
        {
            for (int i = 0; i < settings.Connections; i++)
            {
                clients.Add(await settings.ConnectAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false));
            }

            var run = new Run(settings, clients);
            var elapsed = await ProgressReporter.RunAsync("ADD", "requests", settings.Requests, sink => run.ExecuteAsync(sink, cancellationToken)).ConfigureAwait(false);
            return Print(settings, run, elapsed);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static int Print(Settings settings, Run run, TimeSpan elapsed)
    {
        var total = new LongHistogram(HighestMicroseconds, 3);
        foreach (var histogram in run.Histograms)
        {
            total.Add(histogram);
        }

        static string Ms(long microseconds) => (microseconds / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
        var rows = new List<(string, string)>
        {
            ("requests", run.Completed.ToString(CultureInfo.InvariantCulture)),
            ("errors", run.Errors.ToString(CultureInfo.InvariantCulture)),
            ("connections", settings.Connections.ToString(CultureInfo.InvariantCulture)),
            ("pipeline", settings.Pipeline.ToString(CultureInfo.InvariantCulture)),
            ("data_bytes", settings.Size.ToString(CultureInfo.InvariantCulture)),
            ("seconds", elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)),
            ("requests_per_second", (run.Completed / Math.Max(elapsed.TotalSeconds, 1e-9)).ToString("F0", CultureInfo.InvariantCulture)),
            ("latency_p50_ms", Ms(total.GetValueAtPercentile(50))),
            ("latency_p99_ms", Ms(total.GetValueAtPercentile(99))),
            ("latency_p99.9_ms", Ms(total.GetValueAtPercentile(99.9))),
            ("latency_max_ms", Ms(total.GetMaxValue())),
        };
        if (Console.IsOutputRedirected)
        {
            rows.ForEach(r => Terminal.WriteLine($"{r.Item1}: {r.Item2}"));
            Terminal.FlushOutput();
        }
        else
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            rows.ForEach(r => table.AddRow(r.Item1, r.Item2));
            AnsiConsole.Write(table);
        }

        if (run.LastError is { } error)
        {
            Terminal.Warn($"{run.Errors} ADDs failed; the last: {error}");
        }

        return run.Completed > 0 ? ExitCodes.Ok : ExitCodes.Error;
    }

    /// <summary>One load run: workers (connection × pipeline slot) each with a histogram, drawing from one request budget.</summary>
    private sealed class Run(Settings settings, List<EventflowDbClient> clients)
    {
        private readonly string _prefix = $"bench-{Guid.NewGuid():N}"[..14];
        private readonly byte[] _data = Data(settings.Size);
        private long _remaining = settings.Requests;
        private long _completed;
        private long _errors;

        public List<LongHistogram> Histograms { get; } = [];

        public long Completed => Interlocked.Read(ref _completed);

        public long Errors => Interlocked.Read(ref _errors);

        public string? LastError { get; private set; }

        public async Task<TimeSpan> ExecuteAsync(IProgressSink sink, CancellationToken cancellationToken)
        {
            var watch = Stopwatch.StartNew();
            var workers = new List<Task>();
            for (int c = 0; c < clients.Count; c++)
            {
                for (int p = 0; p < settings.Pipeline; p++)
                {
                    var histogram = new LongHistogram(HighestMicroseconds, 3);
                    Histograms.Add(histogram);
                    workers.Add(WorkAsync(clients[c], $"{_prefix}-{c}-{p}", histogram, cancellationToken));
                }
            }

            var all = Task.WhenAll(workers);
            while (!all.IsCompleted)
            {
                sink.Report(Completed + Errors);
                await Task.WhenAny(all, Task.Delay(200, cancellationToken)).ConfigureAwait(false);
            }

            await all.ConfigureAwait(false);
            sink.Report(Completed + Errors);
            return watch.Elapsed;
        }

        private async Task WorkAsync(EventflowDbClient client, string stream, LongHistogram histogram, CancellationToken cancellationToken)
        {
            var e = new EventData("BenchEvent", _data);
            while (Interlocked.Decrement(ref _remaining) >= 0)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    await client.AppendAsync(stream, ExpectedVersion.Any, e, cancellationToken).ConfigureAwait(false);
                    histogram.RecordValue(Math.Clamp((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds, 1, HighestMicroseconds));
                    Interlocked.Increment(ref _completed);
                }
                catch (EventflowDbException ex)
                {
                    Interlocked.Increment(ref _errors);
                    LastError = ex.Message;
                }
            }
        }

        /// <summary>A JSON object of exactly <paramref name="size"/> bytes: <c>{"p":"xxx…"}</c>.</summary>
        private static byte[] Data(int size) => Encoding.UTF8.GetBytes("{\"p\":\"" + new string('x', Math.Max(0, size - 8)) + "\"}");
    }
}
