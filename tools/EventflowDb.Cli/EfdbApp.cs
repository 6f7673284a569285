using EventflowDb.Cli.Commands;
using EventflowDb.Cli.Infrastructure;
using EventflowDb.Client;
using Spectre.Console;
using Spectre.Console.Cli;
using StackExchange.Redis;

namespace EventflowDb.Cli;

/// <summary>The efdb command line: its commands, its exit codes and Ctrl+C.</summary>
public static class EfdbApp
{
    /// <summary>Runs efdb with <paramref name="args"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C stops the command cleanly; a second one ends the process.
            e.Cancel = !cancel.IsCancellationRequested;
            cancel.Cancel();
        };

        var app = new CommandApp();
        app.Configure(Configure);
        try
        {
            // Spectre.Console.Cli reads a lone "-" as an option without a name; "-" is stdin (import).
            string[] arguments = [.. args.Select(a => a == "-" ? ImportCommand.Stdin : a)];
            return await app.RunAsync(arguments, cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            FlushQuietly();
        }
    }

    private static void Configure(IConfigurator config)
    {
        config.SetApplicationName("efdb");
        config.SetApplicationVersion(typeof(EfdbApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
        config.CancellationExitCode(130);
        config.UseStrictParsing();
        config.SetExceptionHandler(HandleException);
        config.AddCommand<VerifyCommand>("verify")
            .WithDescription("Check every record of a stopped store's log offline (read-only); print the event count and CHECKSUM. Exit 2 on damage.")
            .WithExample("verify", "--data", "./data");
        config.AddCommand<ExportCommand>("export")
            .WithDescription("Write events as JSON lines (one event per line, as stored) to stdout, from a server or from a stopped store's data directory.")
            .WithExample("export", "--server", "127.0.0.1:6543")
            .WithExample("export", "--data", "./data", "--channel", "category:account");
        config.AddCommand<ImportCommand>("import")
            .WithDescription("ADD the events of JSON lines (as export writes them) to a server, keeping their message ids (the original id when none), so that a second import stores nothing.")
            .WithExample("import", "events.jsonl", "--server", "127.0.0.1:6543");
        config.AddCommand<BackupCommand>("backup")
            .WithDescription("Ask the server for an online, consistent backup into a directory on its machine (BACKUP); print events, bytes copied and last id.")
            .WithExample("backup", "/backups/efdb", "--server", "127.0.0.1:6543");
        config.AddCommand<RestoreCommand>("restore")
            .WithDescription("Verify a backup directory and copy it into a new or empty data directory (refuses a non-empty one).")
            .WithExample("restore", "/backups/efdb", "--data", "./data-restored");
        config.AddCommand<TailCommand>("tail")
            .WithDescription("Follow a channel and print each event as a JSON line until Ctrl+C (history after --from first, then live events).")
            .WithExample("tail", "category:account", "--from", "0");
        config.AddCommand<StatsCommand>("stats")
            .WithDescription("Show the server's counters (INFO, CHECKSUM) as a table; key: value lines when stdout is redirected.")
            .WithExample("stats", "--section", "eventflowdb");
        config.AddCommand<BenchCommand>("bench")
            .WithDescription("Quick ADD load test with a live progress display; prints throughput and latency p50/p99/p99.9/max.")
            .WithExample("bench", "--connections", "8", "--requests", "20000", "--pipeline", "4", "--size", "100");
    }

    /// <summary>Usage errors and failures: a message on stderr and exit code 1.</summary>
    private static int HandleException(Exception exception, ITypeResolver? resolver)
    {
        switch (exception)
        {
            case CommandAppException app:
                if (app.Pretty is { } pretty)
                {
                    Terminal.Error.Write(pretty);
                }
                else
                {
                    Terminal.Fail(app.Message);
                }

                Terminal.Info("Run 'efdb --help' or 'efdb <command> --help' for usage.");
                return ExitCodes.Error;
            case OperationCanceledException:
                return 130;
            case EventflowDbException or RedisException or IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException:
                return Terminal.Fail(exception.Message);
            default:
                return Terminal.Fail($"{exception.GetType().Name}: {exception.Message}");
        }
    }

    private static void FlushQuietly()
    {
        try
        {
            Terminal.FlushOutput();
        }
        catch (IOException)
        {
            // stdout was closed (a pipe reader went away): nothing more to say.
        }
    }
}
