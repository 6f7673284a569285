using System.Globalization;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Events;

/// <summary>An integer statistic of the store (EVENTCOUNT, STREAMCOUNT and their estimates, DBSIZE).</summary>
internal sealed class CountCommand(string name, Func<Storage.IEventStore, long> read) : SyncCommand(name, 1)
{
    protected override void Execute(ClientSession session, RespRequest request) =>
        session.Writer.WriteInteger(read(session.Store));
}

/// <summary>CHECKSUM: [id of the last event, chained checksum as 16 hex digits].</summary>
internal sealed class ChecksumCommand() : SyncCommand("CHECKSUM", 1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        var checksum = session.Store.Checksum;
        session.Writer.WriteArrayHeader(2);
        session.Writer.WriteBulkString(checksum.LastId.ToString());
        session.Writer.WriteBulkString(Hex(checksum.Value));
    }

    /// <summary>The checksum as CHECKSUM (and <c>GET /stats</c>) show it: 16 lower-case hex digits.</summary>
    public static string Hex(ulong checksum) => checksum.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>SIZE: [bytes on disk, human-readable size].</summary>
internal sealed class SizeCommand() : SyncCommand("SIZE", 1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        long bytes = session.Store.SizeOnDisk;
        session.Writer.WriteArrayHeader(2);
        session.Writer.WriteInteger(bytes);
        session.Writer.WriteBulkString(HumanFormat.Bytes(bytes));
    }
}

/// <summary>UPTIME: [milliseconds, human-readable duration].</summary>
internal sealed class UptimeCommand() : SyncCommand("UPTIME", 1)
{
    protected override void Execute(ClientSession session, RespRequest request)
    {
        var elapsed = session.Server.Uptime.Elapsed;
        session.Writer.WriteArrayHeader(2);
        session.Writer.WriteInteger((long)elapsed.TotalMilliseconds);
        session.Writer.WriteBulkString(HumanFormat.Duration(elapsed));
    }
}

/// <summary>VERSION: the server's semantic version.</summary>
internal sealed class VersionCommand() : SyncCommand("VERSION", 1)
{
    protected override void Execute(ClientSession session, RespRequest request) =>
        session.Writer.WriteBulkString(ServerContext.Version);
}

/// <summary>Human-readable sizes and durations for SIZE and UPTIME.</summary>
internal static class HumanFormat
{
    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB"];

    public static string Bytes(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < Units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {Units[unit]}");
    }

    public static string Duration(TimeSpan elapsed) => elapsed.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)elapsed.TotalDays}d {elapsed.Hours}h {elapsed.Minutes}m {elapsed.Seconds}s")
        : elapsed.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{elapsed.Hours}h {elapsed.Minutes}m {elapsed.Seconds}s")
            : elapsed.TotalMinutes >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{elapsed.Minutes}m {elapsed.Seconds}s")
                : string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.0}s");
}
