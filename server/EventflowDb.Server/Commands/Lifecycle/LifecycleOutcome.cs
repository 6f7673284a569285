using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Security;
using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>
/// What the lifecycle commands share (DELETE, TRUNCATE, STREAMMETA, SNAPSHOT, FORGET): the stream argument's checks,
/// running the store's change, and the SPEC error words of a refused or failed change. RESP and HTTP reply with these.
/// </summary>
internal static class LifecycleOutcome
{
    /// <summary>The stream argument at <paramref name="index"/>, checked as ADD checks it, with the caller's write right.</summary>
    public static string WritableStream(IAclSubject caller, RespRequest request, int index)
    {
        var stream = Stream(request[index]);
        StreamPermissions.CheckWrite(caller, stream);
        return stream;
    }

    /// <summary>A stream name checked as ADD checks it.</summary>
    public static string Stream(ReadOnlySpan<byte> utf8)
    {
        EventRules.ValidateStream(utf8);
        return Encoding.UTF8.GetString(utf8);
    }

    /// <summary>Runs a change; a refusal or failure becomes a <see cref="CommandException"/> with its SPEC code word.</summary>
    public static async Task RunAsync(Task<LifecycleResult> change, string command, long? version = null)
    {
        LifecycleResult result;
        try
        {
            result = await change.ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw CommandException.TooLarge(e.Message);
        }
        catch (StoreReadOnlyException e)
        {
            throw new CommandException($"ERR {e.Message}");
        }
        catch (Cluster.ClusterUnavailableException e)
        {
            throw new CommandException(e.Message);
        }

        if (Error(result, command, version) is { } error)
        {
            throw new CommandException(error);
        }
    }

    /// <summary>The error reply of a refused change, or null when it was done.</summary>
    public static string? Error(LifecycleResult result, string command, long? version) => result.Status switch
    {
        LifecycleStatus.Done => null,
        LifecycleStatus.NoStream => "INVALID stream does not exist",
        LifecycleStatus.WrongVersionConflict => $"WRONGVERSION concurrent stream modification (expected {version}, stream is at {result.StreamCount})",
        LifecycleStatus.WrongVersionGap => $"WRONGVERSION given version leaves gap in stream (expected {version}, stream is at {result.StreamCount})",
        LifecycleStatus.BeyondStream when command == "SNAPSHOT" => $"INVALID the stream holds no version {version} (it holds {result.StreamCount} events)",
        LifecycleStatus.BeyondStream => $"INVALID version {version} is beyond the stream's {result.StreamCount} events",
        _ => $"ERR unexpected status {result.Status}",
    };
}
