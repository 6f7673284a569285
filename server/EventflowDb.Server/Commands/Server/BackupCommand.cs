using EventflowDb.Protocol;
using EventflowDb.Server.Network;

namespace EventflowDb.Server.Commands.Server;

/// <summary>
/// BACKUP &lt;directory&gt;: an online, consistent copy of the store as of one commit (SPEC "Backups and operations"),
/// replied as <c>[events, bytes copied, last event id]</c>. The directory is on the server's machine; a second
/// BACKUP into it copies only what changed. The connection waits for the copy; others go on.
/// </summary>
internal sealed class BackupCommand() : Command("BACKUP", 2)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        string directory = request.GetString(1);
        if (directory.Length == 0)
        {
            throw CommandException.Syntax("BACKUP needs a directory");
        }

        Storage.BackupResult result;
        try
        {
            result = await session.Store.BackupAsync(directory, session.Closing).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            session.Server.Logger.Warning("Backup to {Directory} requested by client {ClientId} {Remote} failed: {Error}", directory, session.Id, session.Remote, e.Message);
            throw CommandException.Syntax($"backup failed: {e.Message}");
        }

        var writer = session.Writer;
        writer.WriteArrayHeader(3);
        writer.WriteInteger(result.Events);
        writer.WriteInteger(result.BytesCopied);
        writer.WriteBulkString(result.LastId.ToString());
    }
}
