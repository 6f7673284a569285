namespace EventflowDb.Protocol;

/// <summary>Protocol error texts, worded as Redis words them so clients and tests recognise them.</summary>
internal static class RespProtocolErrors
{
    public const string InvalidMultibulkLength = "invalid multibulk length";
    public const string InvalidBulkLength = "invalid bulk length";
    public const string TooBigInlineRequest = "too big inline request";
    public const string UnbalancedQuotes = "unbalanced quotes in request";
    public const string MissingBulkTerminator = "expected CRLF after bulk data";
    public const string RequestTooLarge = "request exceeds the maximum request size";
    public const string TooManyInlineArguments = "too many arguments in inline request";

    /// <summary>Built only on the error path, so the allocation does not matter.</summary>
    public static string ExpectedBulkMarker(byte actual) =>
        actual is >= 0x21 and <= 0x7E
            ? $"expected '$', got '{(char)actual}'"
            : $"expected '$', got '\\x{actual:x2}'";
}
