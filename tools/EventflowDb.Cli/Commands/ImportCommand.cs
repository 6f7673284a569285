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
/// same lines again stores nothing. A forgotten event (FORGET, exported with null data and metadata and
/// <c>"forgotten":true</c>) is imported as forgotten: added with placeholder data, then the stream is FORGOTTEN up to it,
/// when the target stream's versions line up with the export's (else it stays with the placeholder data and a warning).
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

                if (batch.Count > 0 && (batch[0].Stream != parsed.Stream || batch[0].Forgotten != parsed.Forgotten || batch.Count >= settings.Batch || batchBytes + parsed.Bytes > MaxBatchBytes))
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
        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forgotten: {importer.Forgotten}"));
        Terminal.FlushOutput();
        return code;
    }

    /// <summary>Sends batches and counts what was stored and what the server already held.</summary>
    private sealed class Importer(EventflowDbClient client, long highestPosition)
    {
        public long Read { get; set; }

        public long Stored { get; private set; }

        public long Skipped { get; private set; }

        /// <summary>Forgotten events read that the target holds as forgotten.</summary>
        public long Forgotten { get; private set; }

        public async Task FlushAsync(List<ImportLine> batch, CancellationToken cancellationToken)
        {
            if (batch.Count == 0)
            {
                return;
            }

            RecordedEvent? last = null;
            try
            {
                last = Count(await client.AppendAsync(batch[0].Stream, ExpectedVersion.Any, batch.Select(b => b.Event), cancellationToken).ConfigureAwait(false));
            }
            catch (WrongExpectedVersionException) when (batch.Count > 1)
            {
                // Some of the batch is stored already (an earlier import cut short, batched differently): one by one.
                foreach (var line in batch)
                {
                    last = Count(await client.AppendAsync(line.Stream, ExpectedVersion.Any, line.Event, cancellationToken).ConfigureAwait(false));
                }
            }

            if (batch[0].Forgotten && last is not null)
            {
                await ForgetAsync(batch[^1], last, batch.Count, cancellationToken).ConfigureAwait(false);
            }

            batch.Clear();
        }

        /// <summary>
        /// After a batch of forgotten events (one stream): FORGET the target stream up to the last of them, when its versions
        /// line up with the export's (the last one got the version it had, and nothing follows it), so that FORGET, which
        /// covers every event the stream holds, erases only what the export had forgotten.
        /// </summary>
        private async Task ForgetAsync(ImportLine line, RecordedEvent stored, int events, CancellationToken cancellationToken)
        {
            var meta = await client.GetStreamMetadataAsync(line.Stream, cancellationToken).ConfigureAwait(false);
            if (meta.ForgottenBefore > stored.Version)
            {
                Forgotten += events; // forgotten already (a re-run)
                return;
            }

            if (stored.Version == line.Version && meta.NextVersion == stored.Version + 1)
            {
                await client.ForgetStreamAsync(line.Stream, cancellationToken).ConfigureAwait(false);
                Forgotten += events;
                return;
            }

            Terminal.Warn(string.Create(CultureInfo.InvariantCulture, $"stream {line.Stream}: {events} forgotten events were added with placeholder data {{}} but not FORGOTTEN, as the target stream's versions do not line up with the export's (version {stored.Version} for the exported {line.Version}, next version {meta.NextVersion}); FORGET it by hand if it should be"));
        }

        /// <summary>An event stored now has a position above every one seen before; a duplicate's is the old one. Returns the last event.</summary>
        private RecordedEvent? Count(IReadOnlyList<RecordedEvent> events)
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

            return events.Count > 0 ? events[^1] : null;
        }
    }
}
