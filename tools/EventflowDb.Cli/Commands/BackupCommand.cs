using System.ComponentModel;
using System.Globalization;
using EventflowDb.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;
using StackExchange.Redis;

namespace EventflowDb.Cli.Commands;

/// <summary><c>efdb backup &lt;dir&gt;</c>: asks the server for an online backup (BACKUP) and prints its reply.</summary>
public sealed class BackupCommand : AsyncCommand<BackupCommand.Settings>
{
    /// <summary>Options of backup.</summary>
    public sealed class Settings : ServerCommandSettings
    {
        /// <summary>The backup directory, on the server's machine.</summary>
        [CommandArgument(0, "<DIR>")]
        [Description("Backup directory on the server's machine (new, or a previous backup of the same store: then only what changed is copied). A relative path is taken from here when the server is on this machine.")]
        public string Directory { get; set; } = "";

        /// <inheritdoc />
        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Directory) ? ValidationResult.Error("backup needs a directory") : base.Validate();
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string directory = settings.ServerIsLocal() ? Path.GetFullPath(settings.Directory) : settings.Directory;
        await using var client = await settings.ConnectAsync(TimeSpan.FromHours(6), cancellationToken).ConfigureAwait(false);
        var database = client.Multiplexer.GetDatabase();
        var reply = await ProgressReporter.RunAsync("Backing up", "bytes", null, async _ =>
            await database.ExecuteAsync("BACKUP", directory).WaitAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        var items = (RedisResult[]?)reply;
        if (items is not { Length: 3 })
        {
            return Terminal.Fail($"unexpected reply to BACKUP: {reply}");
        }

        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"events: {(long)items[0]}"));
        Terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bytes: {(long)items[1]}"));
        Terminal.WriteLine($"last_id: {(string?)items[2]}");
        Terminal.FlushOutput();
        Terminal.Info($"backup written to {directory} on the server's machine; 'efdb restore {directory} --data <new dir>' restores it");
        return ExitCodes.Ok;
    }
}
