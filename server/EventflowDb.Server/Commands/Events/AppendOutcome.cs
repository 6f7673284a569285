using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Events;

/// <summary>
/// What an ADD's append came to, as the SPEC words it: the error of a rejected append, or of an append that failed.
/// RESP (<see cref="AddCommand"/>, <see cref="Network.ClientSession"/>) and HTTP (<c>POST /streams/{stream}</c>) reply with these.
/// </summary>
internal static class AppendOutcome
{
    /// <summary>Null when the events are stored (or were already, by message id); otherwise the error reply.</summary>
    public static string? Error(AppendRequest request, AppendResult result) => result.Status switch
    {
        AppendStatus.Appended or AppendStatus.Duplicate => null,
        AppendStatus.WrongVersionConflict => $"WRONGVERSION concurrent stream modification (expected {request.Expected}, stream is at {result.StreamCount})",
        AppendStatus.WrongVersionGap => $"WRONGVERSION given version leaves gap in stream (expected {request.Expected}, stream is at {result.StreamCount})",
        AppendStatus.PartialDuplicate => "WRONGVERSION some message ids of this batch are already stored and others are not",
        _ => $"ERR unexpected append status {result.Status}",
    };

    /// <summary>
    /// The error reply of an append that threw one of the failures the store reports (null for anything else, a fault):
    /// the store's own check of the encoded size, a read-only store, a failed read of the idempotency check.
    /// </summary>
    public static string? Failure(Exception e) => e switch
    {
        Cluster.ClusterUnavailableException => e.Message,
        ArgumentException => $"TOOLARGE {e.Message}",
        StoreReadOnlyException => $"ERR {e.Message}",
        IOException => $"ERR {e.Message}",
        _ => null,
    };
}
