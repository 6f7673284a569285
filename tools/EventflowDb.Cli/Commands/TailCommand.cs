using System.ComponentModel;
using EventflowDb.Cli.Infrastructure;
using NUlid;
using Spectre.Console;
using Spectre.Console.Cli;
using StackExchange.Redis;

namespace EventflowDb.Cli.Commands;

/// <summary>
/// <c>efdb tail &lt;channel&gt;</c>: follows a channel (history after <c>--from</c>, then live events, with no gap and no
/// duplicate) and prints each event as a JSON line until Ctrl+C. Like FOLLOW, through long-poll GETALL reads, so a
/// dropped connection or a restarted server only delays it: it reads on from the last event printed.
/// </summary>
public sealed class TailCommand : AsyncCommand<TailCommand.Settings>
{
    private const int PageSize = 1000;
    private const int BlockMilliseconds = 5000;

    /// <summary>Options of tail.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>The channel.</summary>
        [CommandArgument(0, "<CHANNEL>")]
        [Description("What to follow: $all, stream:<name>, category:<category> or type:<event type>.")]
        public string Channel { get; set; } = "";

        /// <summary>Start after this event id.</summary>
        [CommandOption("--from <ID>")]
        [Description("Print the channel's events after this event id first (0: from the start); default: only new events.")]
        public string? From { get; set; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (ChannelFilter.Parse(Channel) is null)
            {
                return ValidationResult.Error($"'{Channel}' is none of $all, stream:<name>, category:<category>, type:<event type>");
            }

            return From is not null && !EventIds.TryParseFrom(From, out _) ? ValidationResult.Error($"--from '{From}' is not an event id") : base.Validate();
        }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var filter = ChannelFilter.Parse(settings.Channel)!;
        string? channel = filter.IsAll ? null : settings.Channel;
        await using var client = await settings.ConnectAsync(TimeSpan.FromMilliseconds(BlockMilliseconds + 15_000), cancellationToken).ConfigureAwait(false);
        var database = client.Multiplexer.GetDatabase();
        Ulid last;
        if (settings.From is null)
        {
            last = (await client.GetChecksumAsync(cancellationToken).ConfigureAwait(false)).LastEventId;
        }
        else
        {
            _ = EventIds.TryParseFrom(settings.From, out last);
        }

        Terminal.Info($"following {settings.Channel} after {last} (Ctrl+C stops)");
        try
        {
            while (true)
            {
                last = await NextAsync(database, filter, channel, last, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Terminal.FlushOutput();
            return ExitCodes.Ok;
        }
    }

    /// <summary>One long-poll read: prints what it got, returns the new position.</summary>
    private static async Task<Ulid> NextAsync(IDatabase database, ChannelFilter filter, string? channel, Ulid last, CancellationToken cancellationToken)
    {
        IReadOnlyList<byte[]> page;
        var examined = last;
        try
        {
            page = await ServerReads.GetAllAsync(database, last, PageSize, channel, BlockMilliseconds, cancellationToken).ConfigureAwait(false);
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
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            Terminal.Warn($"{e.Message}; reading on from {last} once the server is back");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return last;
        }

        foreach (var json in page)
        {
            Terminal.WriteLine(json);
            last = ServerReads.IdOf(json);
        }

        Terminal.FlushOutput();
        return examined.CompareTo(last) > 0 ? examined : last;
    }
}
