using System.ComponentModel;
using System.Globalization;
using System.Text;
using EventflowDb.Cli.Infrastructure;
using EventflowDb.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary>
/// <c>efdb import [file|-]</c>: ADDs the events of JSON lines (as <c>efdb export</c> writes them) to a server, consecutive
/// events of one stream in one ADD, keeping each event's message id (its original id when it had none): importing the
/// same lines again stores nothing.
/// </summary>
public sealed class ImportCommand : AsyncCommand<ImportCommand.Settings>
{
    /// <summary>What a "-" argument (stdin) reaches the command as.</summary>
    public const string Stdin = "(stdin)";

    private const int MaxBatchBytes = 1 << 20;

    /// <summary>Options of import.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>The input file.</summary>
        [CommandArgument(0, "[FILE]")]
        [Description("JSON lines to import; - (the default) reads stdin.")]
        public string File { get; set; } = Stdin;

        /// <summary>True when the input is stdin.</summary>
        public bool FromStdin => File is Stdin or "-";

        /// <summary>Events per ADD at most.</summary>
        [CommandOption("--batch <N>")]
        [Description("At most this many events per ADD (default 500); consecutive events of one stream share an ADD.")]
        [DefaultValue(500)]
        public int Batch { get; set; } = 500;

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (Batch is < 1 or > 10_000)
            {
                return ValidationResult.Error("--batch must be between 1 and 10000");
            }

            return !FromStdin && !System.IO.File.Exists(File) ? ValidationResult.Error($"{File} does not exist") : base.Validate();
        }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await using var client = await settings.ConnectAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        var importer = new Importer(client, await client.GetEventCountAsync(cancellationToken).ConfigureAwait(false) - 1);
        using var input = settings.FromStdin ? Console.OpenStandardInput() : new FileStream(settings.File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long? total = settings.FromStdin ? null : input.Length;
        int code = await ProgressReporter.RunAsync("Importing", "bytes", total, async sink =>
        {
            using var reader = new StreamReader(input, new UTF8Encoding(false), false, 1 << 16);
            var batch = new List<ImportLine>();
            long lineNumber = 0;
            long bytes = 0;
            long batchBytes = 0;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                lineNumber++;
                bytes += Encoding.UTF8.GetByteCount(line) + 1;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                ImportLine parsed;
                try
                {
                    parsed = ImportLine.Parse(line);
                }
                catch (InvalidDataException e)
                {
                    await importer.FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                    return Terminal.Fail(string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}: not an exported event ({e.Message}); nothing after it was imported"));
                }

                if (batch.Count > 0 && (batch[0].Stream != parsed.Stream || batch.Count >= settings.Batch || batchBytes + parsed.Bytes > MaxBatchBytes))
                {
                    await importer.FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                    batchBytes = 0;
                }

                batch.Add(parsed);
                batchBytes += parsed.Bytes;
                importer.Read++;
                sink.Report(bytes);
            }

            await importer.FlushAsync(batch, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }).ConfigureAwait(false);

        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read: {importer.Read}"));
        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stored: {importer.Stored}"));
        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"skipped: {importer.Skipped}"));
        Terminal.FlushOutput();
        return code;
    }

    /// <summary>Sends batches and counts what was stored and what the server already held.</summary>
    private sealed class Importer(EventflowDbClient client, long highestPosition)
    {
        public long Read { get; set; }

        public long Stored { get; private set; }

        public long Skipped { get; private set; }

        public async Task FlushAsync(List<ImportLine> batch, CancellationToken cancellationToken)
        {
            if (batch.Count == 0)
            {
                return;
            }

            try
            {
                Count(await client.AppendAsync(batch[0].Stream, ExpectedVersion.Any, batch.Select(b => b.Event), cancellationToken).ConfigureAwait(false));
            }
            catch (WrongExpectedVersionException) when (batch.Count > 1)
            {
                // Some of the batch is stored already (an earlier import cut short, batched differently): one by one.
                foreach (var line in batch)
                {
                    Count(await client.AppendAsync(line.Stream, ExpectedVersion.Any, line.Event, cancellationToken).ConfigureAwait(false));
                }
            }

            batch.Clear();
        }

        /// <summary>An event stored now has a position above every one seen before; a duplicate's is the old one.</summary>
        private void Count(IReadOnlyList<RecordedEvent> events)
        {
            foreach (var e in events)
            {
                if (e.Position > highestPosition)
                {
                    highestPosition = e.Position;
                    Stored++;
                }
                else
                {
                    Skipped++;
                }
            }
        }
    }
}
