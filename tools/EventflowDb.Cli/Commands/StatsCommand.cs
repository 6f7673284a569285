using System.ComponentModel;
using EventflowDb.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary><c>efdb stats</c>: the server's counters (INFO and CHECKSUM) as a table, or <c>key: value</c> lines when stdout is redirected.</summary>
public sealed class StatsCommand : AsyncCommand<StatsCommand.Settings>
{
    /// <summary>Options of stats.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>INFO sections.</summary>
        [CommandOption("--section <NAME>")]
        [Description("Only these INFO sections (repeatable): server, clients, memory, persistence, stats, replication, cpu, keyspace, eventflowdb, limits. Default: all.")]
        public string[] Sections { get; set; } = [];
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await using var client = await settings.ConnectAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var database = client.Multiplexer.GetDatabase();
        object[] arguments = settings.Sections.Length == 0 ? ["all"] : [.. settings.Sections];
        string info = (string?)await database.ExecuteAsync("INFO", arguments).WaitAsync(cancellationToken).ConfigureAwait(false) ?? "";
        var rows = Parse(info);
        if (settings.Sections.Length == 0 || settings.Sections.Contains("eventflowdb", StringComparer.OrdinalIgnoreCase))
        {
            var checksum = await client.GetChecksumAsync(cancellationToken).ConfigureAwait(false);
            rows.Add(("Eventflowdb", "last_id", checksum.LastEventId.ToString()));
            rows.Add(("Eventflowdb", "checksum", checksum.Hex));
        }

        if (Console.IsOutputRedirected)
        {
            foreach (var (_, key, value) in rows)
            {
                Terminal.WriteLine($"{key}: {value}");
            }

            Terminal.FlushOutput();
            return ExitCodes.Ok;
        }

        var table = new Table().Border(TableBorder.Rounded).Title($"EventflowDB {settings.Server ?? ServerCommandSettings.DefaultServer}");
        table.AddColumn("section");
        table.AddColumn("key");
        table.AddColumn(new TableColumn("value").RightAligned());
        string? previous = null;
        foreach (var (section, key, value) in rows)
        {
            table.AddRow(Markup.Escape(section == previous ? "" : section), Markup.Escape(key), Markup.Escape(value));
            previous = section;
        }

        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }

    /// <summary>INFO's text as (section, key, value) rows, in order.</summary>
    public static List<(string Section, string Key, string Value)> Parse(string info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var rows = new List<(string, string, string)>();
        string section = "";
        if (info.StartsWith("txt:", StringComparison.Ordinal))
        {
            info = info[4..]; // a RESP3 verbatim string keeps its format prefix
        }

        foreach (string raw in info.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith('#'))
            {
                section = line.TrimStart('#', ' ');
            }
            else if (line.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
            {
                rows.Add((section, line[..colon], line[(colon + 1)..]));
            }
        }

        return rows;
    }
}
