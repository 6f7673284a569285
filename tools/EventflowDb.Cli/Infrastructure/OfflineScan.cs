using System.Globalization;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>Runs <see cref="OfflineLog.Scan"/> with a progress display and prints what it found.</summary>
public static class OfflineScan
{
    /// <summary>Scans a data directory read-only, with progress over the log's bytes.</summary>
    /// <param name="description">What the progress display says.</param>
    /// <param name="directory">The data directory.</param>
    /// <param name="onEvent">Receives the events; when set, they are data on stdout (no bar over them on a terminal).</param>
    /// <param name="after">Events up to this id are not handed to <paramref name="onEvent"/>.</param>
    /// <param name="cancellationToken">Stops the scan.</param>
    public static Task<OfflineScanResult> RunAsync(string description, string directory, OfflineEventHandler? onEvent, Ulid after, CancellationToken cancellationToken) =>
        ProgressReporter.RunAsync(
            description,
            "bytes",
            null,
            sink => Task.Run(() => OfflineLog.Scan(directory, onEvent, new OfflineScanOptions { After = after, Progress = (done, total) => sink.Report(done, total) }, cancellationToken), cancellationToken),
            dataOnStdout: onEvent is not null);

    /// <summary>The summary lines of a scan: events, streams, last id, checksum.</summary>
    public static IEnumerable<string> Summary(OfflineScanResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        yield return string.Create(CultureInfo.InvariantCulture, $"events: {result.Events}");
        yield return string.Create(CultureInfo.InvariantCulture, $"streams: {result.Streams}");
        yield return $"last_id: {result.LastId}";
        yield return $"checksum: {result.ChecksumHex}";
    }

    /// <summary>Prints the notes, the torn tail (a warning) and the damage (an error) of a scan to stderr; returns the exit code it calls for.</summary>
    public static int Report(OfflineScanResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (var note in result.Notes)
        {
            Terminal.Warn(note);
        }

        if (result.TornTail is { } torn)
        {
            Terminal.Warn($"torn tail: {torn.Reason} in {torn.File} at offset {torn.Offset} (log address {torn.Address}); nothing valid follows, so it was never acknowledged, and a server start cuts it");
        }

        if (result.Damage is { } damage)
        {
            return Terminal.Fail(
                $"DAMAGE: {damage.Reason} in {damage.File} at offset {damage.Offset} (log address {damage.Address}); a server refuses to start on this directory (--repair cuts the log there). The counts above cover the valid events before it.",
                ExitCodes.Damage);
        }

        return ExitCodes.Ok;
    }
}
