using System.ComponentModel;
using EventflowDb.Cli.Infrastructure;
using EventflowDb.Storage;
using NUlid;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EventflowDb.Cli.Commands;

/// <summary>
/// <c>efdb restore &lt;backupdir&gt; --data &lt;newdir&gt;</c>: verifies a backup as <c>verify</c> does, checks it against its
/// <c>backup.json</c>, and copies it into a new or empty data directory (never over anything).
/// </summary>
public sealed class RestoreCommand : AsyncCommand<RestoreCommand.Settings>
{
    /// <summary>Options of restore.</summary>
    public sealed class Settings : CommandSettings
    {
        /// <summary>The backup directory.</summary>
        [CommandArgument(0, "<BACKUPDIR>")]
        [Description("Backup directory written by BACKUP (efdb backup).")]
        public string Backup { get; set; } = "";

        /// <summary>The new data directory.</summary>
        [CommandOption("-d|--data <DIR>")]
        [Description("New data directory to restore into: it must not exist or be empty.")]
        public string? Data { get; set; }

        /// <summary>Restore a directory without backup.json.</summary>
        [CommandOption("--force")]
        [Description("Restore even without backup.json (an interrupted backup, or a plain copy of a data directory); the log is still verified.")]
        public bool Force { get; set; }

        /// <inheritdoc />
        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Data) ? ValidationResult.Error("restore needs --data <new dir>") : ValidationResult.Success();
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string backup = Path.GetFullPath(settings.Backup);
        string target = Path.GetFullPath(settings.Data!);
        if (!Directory.Exists(backup))
        {
            return Terminal.Fail($"{backup} does not exist");
        }

        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
        {
            return Terminal.Fail($"{target} is not empty: restore only writes into a new or empty directory");
        }

        var manifest = OfflineLog.TryReadBackupManifest(backup);
        if (manifest is null && !settings.Force)
        {
            return Terminal.Fail($"{backup} holds no {OfflineLog.BackupManifestFileName}: no complete backup (an interrupted BACKUP leaves none). --force restores it anyway", ExitCodes.Damage);
        }

        var scan = await OfflineScan.RunAsync("Verifying backup", backup, null, Ulid.Empty, cancellationToken).ConfigureAwait(false);
        if (OfflineScan.Report(scan) is var code and not ExitCodes.Ok)
        {
            return code;
        }

        if (manifest is not null && (scan.Events != manifest.Events || scan.LastId.ToString() != manifest.LastId || scan.Checksum != manifest.Checksum))
        {
            return Terminal.Fail(
                $"the backup's log ({scan.Events} events, last id {scan.LastId}, checksum {scan.ChecksumHex}) does not match its {OfflineLog.BackupManifestFileName} ({manifest.Events} events, last id {manifest.LastId}, checksum {manifest.Checksum:x16})",
                ExitCodes.Damage);
        }

        var files = DirectoryCopy.Files(backup, relative => relative.StartsWith(OfflineLog.BackupManifestFileName, StringComparison.Ordinal));
        string staging = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.restoring-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            await ProgressReporter.RunAsync("Restoring", "bytes", files.Sum(f => f.Length), sink => Task.Run(
                () =>
                {
                    DirectoryCopy.Copy(backup, staging, files, sink, cancellationToken);
                    return true;
                },
                cancellationToken)).ConfigureAwait(false);
            if (Directory.Exists(target))
            {
                Directory.Delete(target); // empty, checked above
            }

            Directory.Move(staging, target);
            DirectoryCopy.SyncDirectory(Path.GetDirectoryName(target)!);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        foreach (string line in OfflineScan.Summary(scan))
        {
            Terminal.WriteLine(line);
        }

        Terminal.FlushOutput();
        Terminal.Info($"restored {scan.Events} events into {target}; start a server on it with --data {target}");
        return ExitCodes.Ok;
    }
}
