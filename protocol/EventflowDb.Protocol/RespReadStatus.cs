namespace EventflowDb.Protocol;

/// <summary>Outcome of trying to read one request.</summary>
public enum RespReadStatus
{
    /// <summary>A whole request was read.</summary>
    Complete,

    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete,

    /// <summary>The bytes are not valid RESP or break a limit; the connection must be closed.</summary>
    ProtocolError,
}
