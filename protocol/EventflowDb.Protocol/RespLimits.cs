namespace EventflowDb.Protocol;

/// <summary>Request limits, checked before anything is allocated.</summary>
public sealed class RespLimits
{
    /// <summary>Largest bulk string argument in bytes.</summary>
    public int MaxBulkLength { get; init; } = 64 * 1024 * 1024;

    /// <summary>Most arguments in one request (including the command name).</summary>
    public int MaxArguments { get; init; } = 1024 * 1024;

    /// <summary>Longest inline command line in bytes.</summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    /// <summary>Largest whole request in bytes (all arguments and framing).</summary>
    public long MaxRequestBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>
    /// When set, a request refused for passing one of these limits gets this error instead of the specific one
    /// (e.g. a tight reader used before a connection has authenticated).
    /// </summary>
    public string? LimitError { get; init; }
}
