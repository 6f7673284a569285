using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>Receives the progress of a long operation (thread-safe).</summary>
public interface IProgressSink
{
    /// <summary>Reports how far the operation is; <paramref name="total"/> changes the total when given.</summary>
    void Report(long done, long? total = null);
}

/// <summary>
/// Runs a long operation with a progress display: a Spectre progress bar on a terminal, else a plain line on stderr
/// every two seconds and one at the end.
/// </summary>
public static class ProgressReporter
{
    /// <summary>Runs <paramref name="body"/> with a progress sink.</summary>
    /// <param name="description">What is done, e.g. "Verifying".</param>
    /// <param name="unit">What is counted: "bytes" or "events".</param>
    /// <param name="total">The total, or null while unknown.</param>
    /// <param name="body">The operation.</param>
    /// <param name="dataOnStdout">True when the operation writes its data to stdout: no bar is drawn over it on a terminal.</param>
    public static async Task<T> RunAsync<T>(string description, string unit, long? total, Func<IProgressSink, Task<T>> body, bool dataOnStdout = false)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (dataOnStdout && !Console.IsOutputRedirected)
        {
            return await body(new NoSink()).ConfigureAwait(false);
        }

        if (!Terminal.Interactive)
        {
            var plain = new PlainSink(description, unit, total);
            var result = await body(plain).ConfigureAwait(false);
            plain.Finish();
            return result;
        }

        return await Terminal.Error.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(description, maxValue: total ?? 1);
                task.IsIndeterminate = total is null;
                var result = await body(new BarSink(task)).ConfigureAwait(false);
                task.Value = task.MaxValue;
                task.IsIndeterminate = false;
                task.StopTask();
                return result;
            }).ConfigureAwait(false);
    }

    private sealed class NoSink : IProgressSink
    {
        public void Report(long done, long? total = null)
        {
        }
    }

    private sealed class BarSink(ProgressTask task) : IProgressSink
    {
        public void Report(long done, long? total = null)
        {
            if (total is { } t)
            {
                task.MaxValue = Math.Max(1, t);
                task.IsIndeterminate = false;
            }

            task.Value = Math.Min(done, task.MaxValue);
        }
    }

    private sealed class PlainSink(string description, string unit, long? total) : IProgressSink
    {
        private readonly Lock _lock = new();
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private long _done;
        private long? _total = total;
        private TimeSpan _printed = TimeSpan.Zero;

        public void Report(long done, long? total = null)
        {
            lock (_lock)
            {
                _done = done;
                _total = total ?? _total;
                if (_watch.Elapsed - _printed >= TimeSpan.FromSeconds(2))
                {
                    _printed = _watch.Elapsed;
                    Print();
                }
            }
        }

        public void Finish()
        {
            lock (_lock)
            {
                if (_printed > TimeSpan.Zero)
                {
                    Print();
                }
            }
        }

        private void Print()
        {
            string of = _total is { } t and > 0
                ? string.Create(CultureInfo.InvariantCulture, $" of {t:N0} {unit} ({100.0 * Math.Min(_done, t) / t:F0}%)")
                : " " + unit;
            Terminal.Info(string.Create(CultureInfo.InvariantCulture, $"{description}: {_done:N0}{of}, {_watch.Elapsed.TotalSeconds:F0} s"));
        }
    }
}
