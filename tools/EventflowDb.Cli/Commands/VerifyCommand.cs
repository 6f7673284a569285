using System.ComponentModel;
using EventflowDb.Cli.Infrastructure;
using NUlid;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary><c>efdb verify --data &lt;dir&gt;</c>: checks every record of a stopped store's log without changing anything.</summary>
public sealed class VerifyCommand : AsyncCommand<VerifyCommand.Settings>
{
    /// <summary>Options of verify.</summary>
    public sealed class Settings : CommandSettings
    {
        /// <summary>The data directory.</summary>
        [CommandOption("-d|--data <DIR>")]
        [Description("Data directory (or backup directory) to check. It is only read: run it on a stopped server's directory.")]
        public string? Data { get; set; }

        /// <inheritdoc />
        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Data) ? ValidationResult.Error("verify needs --data <dir>") : ValidationResult.Success();
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var result = await OfflineScan.RunAsync("Verifying", settings.Data!, null, Ulid.Empty, cancellationToken).ConfigureAwait(false);
        foreach (string line in OfflineScan.Summary(result))
        {
            Terminal.WriteLine(line);
        }

        Terminal.FlushOutput();
        int code = OfflineScan.Report(result);
        if (code == ExitCodes.Ok)
        {
            Terminal.Info($"ok: {result.Entries} log entries in {result.SegmentFiles} segment file(s) checked{(result.SnapshotChecked ? ", and the checkpoint matches the log" : "")}");
        }

        return code;
    }
}
