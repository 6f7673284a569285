using System.ComponentModel;
using EventflowDb.Cli.Infrastructure;
using EventflowDb.Client;
using NUlid;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary><c>efdb export</c>: events as JSON lines on stdout, from a server or from a stopped store's data directory.</summary>
public sealed class ExportCommand : AsyncCommand<ExportCommand.Settings>
{
    private const int PageSize = 1000;

    /// <summary>Options of export.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>Read a data directory instead of a server.</summary>
        [CommandOption("-d|--data <DIR>")]
        [Description("Read this data directory (of a stopped server) instead of a server.")]
        public string? Data { get; set; }

        /// <summary>The channel.</summary>
        [CommandOption("-c|--channel <CHANNEL>")]
        [Description("Only the events of this channel: $all (default), stream:<name>, category:<category> or type:<event type>.")]
        public string Channel { get; set; } = "$all";

        /// <summary>Start after this event id.</summary>
        [CommandOption("--from <ID>")]
        [Description("Only the events after this event id (0: from the start, the default).")]
        public string? From { get; set; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (Data is not null && ServerGiven)
            {
                return ValidationResult.Error("export reads either --server or --data, not both");
            }

            if (ChannelFilter.Parse(Channel) is null)
            {
                return ValidationResult.Error($"--channel '{Channel}' is none of $all, stream:<name>, category:<category>, type:<event type>");
            }

            return EventIds.TryParseFrom(From, out _) ? base.Validate() : ValidationResult.Error($"--from '{From}' is not an event id");
        }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var filter = ChannelFilter.Parse(settings.Channel)!;
        _ = EventIds.TryParseFrom(settings.From, out var from);
        return settings.Data is { } data
            ? await ExportDirectoryAsync(data, filter, from, cancellationToken).ConfigureAwait(false)
            : await ExportServerAsync(settings, filter, from, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> ExportDirectoryAsync(string data, ChannelFilter filter, Ulid from, CancellationToken cancellationToken)
    {
        long exported = 0;
        var result = await OfflineScan.RunAsync("Exporting", data, e =>
        {
            if (filter.Matches(e.Stream, e.Json))
            {
                Terminal.WriteLine(e.Json);
                exported++;
            }
        }, from, cancellationToken).ConfigureAwait(false);
        Terminal.FlushOutput();
        Terminal.Info($"exported {exported} events (the store holds {result.Events}, last id {result.LastId}, checksum {result.ChecksumHex}; {result.HiddenEvents} hidden by DELETE, TRUNCATE, maxCount or maxAge left out, {result.ForgottenEvents} forgotten written without data and metadata)");
        return OfflineScan.Report(result);
    }

    private static async Task<int> ExportServerAsync(Settings settings, ChannelFilter filter, Ulid from, CancellationToken cancellationToken)
    {
        await using var client = await settings.ConnectAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        var database = client.Multiplexer.GetDatabase();

        // The log as of now: events added while the export runs are left for the next one.
        var until = (await client.GetChecksumAsync(cancellationToken).ConfigureAwait(false)).LastEventId;
        long? total = filter.IsAll ? await client.GetEventCountAsync(cancellationToken).ConfigureAwait(false) : null;
        string? channel = filter.IsAll ? null : settings.Channel;
        long exported = await ProgressReporter.RunAsync("Exporting", "events", total, async sink =>
        {
            long count = 0;
            var last = from;
            while (last.CompareTo(until) < 0)
            {
                var page = await ServerReads.GetAllAsync(database, last, PageSize, channel, null, cancellationToken).ConfigureAwait(false);
                var examined = last;
                if (page.Count == 0 && channel is not null)
                {
                    // An empty filtered page may only mean "many other events examined": read on unfiltered, filter here.
                    var scanned = await ServerReads.GetAllAsync(database, last, PageSize, null, null, cancellationToken).ConfigureAwait(false);
                    if (scanned.Count > 0)
                    {
                        examined = ServerReads.IdOf(scanned[^1]);
                        page = [.. scanned.Where(json => filter.Matches(json))];
                    }
                }

                if (page.Count == 0 && examined.CompareTo(last) <= 0)
                {
                    break;
                }

                foreach (var json in page)
                {
                    var id = ServerReads.IdOf(json);
                    if (id.CompareTo(until) > 0)
                    {
                        return count;
                    }

                    Terminal.WriteLine(json);
                    last = id;
                    count++;
                }

                last = examined.CompareTo(last) > 0 ? examined : last;
                sink.Report(count);
            }

            return count;
        }, dataOnStdout: true).ConfigureAwait(false);
        Terminal.FlushOutput();
        Terminal.Info($"exported {exported} events from {settings.Server ?? ServerCommandSettings.DefaultServer}");
        return ExitCodes.Ok;
    }
}
