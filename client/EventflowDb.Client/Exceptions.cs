namespace EventflowDb.Client;

/// <summary>The error codes an EventflowDB server starts its error replies with.</summary>
public static class EventflowDbErrorCodes
{
    /// <summary>Syntax error, unknown command, wrong argument count, bad JSON.</summary>
    public const string Error = "ERR";

    /// <summary>The connection has not authenticated and the server requires a password.</summary>
    public const string NoAuth = "NOAUTH";

    /// <summary>Wrong password.</summary>
    public const string WrongPassword = "WRONGPASS";

    /// <summary>Optimistic concurrency: the expected version did not hold, or a batch repeated only some of its message ids.</summary>
    public const string WrongVersion = "WRONGVERSION";

    /// <summary>A value breaks a rule (empty type, all-zero stream id, stream name too long, ...).</summary>
    public const string Invalid = "INVALID";

    /// <summary>The request is over a size limit.</summary>
    public const string TooLarge = "TOOLARGE";

    /// <summary>The user may not run the command, or not on that stream or channel (ACL).</summary>
    public const string NoPermission = "NOPERM";

    /// <summary>A cluster follower refused a write (<c>READONLY … leader=host:port</c>); nothing was changed.</summary>
    public const string ReadOnly = "READONLY";

    /// <summary>A cluster has no leader now (an election), or lost it while the write was in flight.</summary>
    public const string TryAgain = "TRYAGAIN";
}

/// <summary>
/// The server refused the operation for the connection's user (<c>NOPERM</c>): the user's rules do not allow the command,
/// or the stream or channel is outside the user's read or write patterns. Nothing was changed.
/// </summary>
public sealed class PermissionDeniedException : EventflowDbException
{
    /// <summary>Creates the exception.</summary>
    public PermissionDeniedException()
        : base("NOPERM", EventflowDbErrorCodes.NoPermission)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The server's error reply.</param>
    public PermissionDeniedException(string message)
        : base(message, EventflowDbErrorCodes.NoPermission)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The server's error reply.</param>
    /// <param name="innerException">The cause.</param>
    public PermissionDeniedException(string message, Exception? innerException)
        : base(message, EventflowDbErrorCodes.NoPermission, innerException)
    {
    }
}

/// <summary>
/// Base of every error the client raises for a failed operation. <see cref="ErrorCode"/> keeps the code word of the
/// server's error reply (see <see cref="EventflowDbErrorCodes"/>); it is null when the failure was not a server reply.
/// </summary>
public class EventflowDbException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventflowDbException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public EventflowDbException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public EventflowDbException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server error reply.</summary>
    /// <param name="message">The message.</param>
    /// <param name="errorCode">The code word of the error reply (<c>ERR</c>, <c>TOOLARGE</c>, ...).</param>
    /// <param name="innerException">The cause.</param>
    public EventflowDbException(string message, string? errorCode, Exception? innerException = null)
        : base(message, innerException) => ErrorCode = errorCode;

    /// <summary>The code word of the server's error reply (<c>ERR</c>, <c>WRONGVERSION</c>, <c>INVALID</c>, ...), or null when there was no error reply.</summary>
    public string? ErrorCode { get; }
}

/// <summary>
/// An append was rejected by the optimistic-concurrency check (<c>WRONGVERSION</c>): the stream did not hold the
/// expected number of events, or the batch repeated only some of its message ids. Reload the stream and decide again.
/// </summary>
public sealed class WrongExpectedVersionException : EventflowDbException
{
    /// <summary>Creates the exception.</summary>
    public WrongExpectedVersionException()
        : base("Wrong expected version.", EventflowDbErrorCodes.WrongVersion)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public WrongExpectedVersionException(string message)
        : base(message, EventflowDbErrorCodes.WrongVersion)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public WrongExpectedVersionException(string message, Exception? innerException)
        : base(message, EventflowDbErrorCodes.WrongVersion, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="stream">The stream of the append.</param>
    /// <param name="expectedVersion">The expected version the server checked, when it said.</param>
    /// <param name="actualVersion">The stream's event count when the server checked, when it said.</param>
    /// <param name="innerException">The cause.</param>
    public WrongExpectedVersionException(string message, string? stream, ExpectedVersion? expectedVersion, long? actualVersion, Exception? innerException = null)
        : base(message, EventflowDbErrorCodes.WrongVersion, innerException)
    {
        Stream = stream;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The stream of the rejected append.</summary>
    public string? Stream { get; }

    /// <summary>The expected version of the rejected append, as the server reported it; null when the reply did not say (partial message-id repeat).</summary>
    public ExpectedVersion? ExpectedVersion { get; }

    /// <summary>
    /// The stream's version in the sense of <see cref="Client.ExpectedVersion"/>: its event count when the server checked,
    /// i.e. the <c>ExpectedVersion.Exact</c> value that would have passed. Null when the reply did not say.
    /// </summary>
    public long? ActualVersion { get; }
}

/// <summary>The server refused the credentials (<c>WRONGPASS</c>) or requires them (<c>NOAUTH</c>): check the connection string's <c>password=</c>.</summary>
public sealed class AuthenticationException : EventflowDbException
{
    /// <summary>Creates the exception.</summary>
    public AuthenticationException()
        : base("Authentication failed.", EventflowDbErrorCodes.NoAuth)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public AuthenticationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public AuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server error reply.</summary>
    /// <param name="message">The message.</param>
    /// <param name="errorCode"><c>NOAUTH</c>, <c>WRONGPASS</c>, or null when the connection failed to authenticate without one.</param>
    /// <param name="innerException">The cause.</param>
    public AuthenticationException(string message, string? errorCode, Exception? innerException = null)
        : base(message, errorCode, innerException)
    {
    }
}

/// <summary>The server rejected a value that breaks one of its rules (<c>INVALID</c>): an all-zero stream id, a stream name that is too long, a repeated message id, ...</summary>
public sealed class InvalidEventException : EventflowDbException
{
    /// <summary>Creates the exception.</summary>
    public InvalidEventException()
        : base("Invalid event.", EventflowDbErrorCodes.Invalid)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public InvalidEventException(string message)
        : base(message, EventflowDbErrorCodes.Invalid)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidEventException(string message, Exception? innerException)
        : base(message, EventflowDbErrorCodes.Invalid, innerException)
    {
    }
}

/// <summary>
/// The server could not be reached, or the connection dropped or timed out before the reply arrived (the inner exception
/// is StackExchange.Redis's). For an append this means the outcome is unknown: the events may or may not have been
/// stored. Appends whose events all carry message ids are retried automatically (see
/// <see cref="EventflowDbClientOptions.ConnectionFailureRetries"/>) and are safe to retry again.
/// </summary>
public sealed class EventflowDbConnectionException : EventflowDbException
{
    /// <summary>Creates the exception.</summary>
    public EventflowDbConnectionException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public EventflowDbConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public EventflowDbConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
