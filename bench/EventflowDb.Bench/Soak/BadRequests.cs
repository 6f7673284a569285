using System.Text;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>What a bad request must get.</summary>
internal enum BadOutcome
{
    /// <summary>An error reply; the connection stays open (SPEC: a bad request never closes the connection).</summary>
    Error,

    /// <summary>An error reply, then the server closes the connection (protocol errors).</summary>
    ErrorThenClose,

    /// <summary>Either an error reply or a closed connection (HTTP-looking input: SPEC v2 closes it at once).</summary>
    ErrorOrClose,
}

/// <param name="Name">What is wrong with it, for the report.</param>
/// <param name="Bytes">The raw request.</param>
/// <param name="Expect">What it must get.</param>
/// <param name="ErrorPrefix">How the error must start (its code word), or null for any error.</param>
/// <param name="OwnConnection">Sent on a new connection, closed afterwards (the request may close or change the connection).</param>
internal sealed record BadRequest(string Name, byte[] Bytes, BadOutcome Expect, string? ErrorPrefix, bool OwnConnection);

/// <summary>The catalogue of bad requests the soak sends, from SPEC's limits and error rules.</summary>
internal static class BadRequests
{
    public static IReadOnlyList<BadRequest> All { get; } = Build();

    private static BadRequest[] Build()
    {
        byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        byte[] Raw(string s) => Encoding.ASCII.GetBytes(s);
        byte[] Cmd(params string[] args) => RespCommand.Encode(args);
        byte[] invalidUtf8 = [0xC3, 0x28, 0xFF, 0xFE];
        byte[] jsonWithBadBytes = [.. Utf8("{\"stream\":\"soak-bad\",\"version\":\"any\",\"events\":[{\"type\":\"T\",\"data\":\"x"), .. invalidUtf8, .. Utf8("\"}]}")];
        string longPattern = string.Concat(Enumerable.Repeat("*a", 32 * 1024));
        return
        [
            new("ADD, JSON form with invalid UTF-8", RespCommand.Encode(Utf8("ADD"), jsonWithBadBytes), BadOutcome.Error, "INVALID", false),
            new("ADD, data of invalid UTF-8", RespCommand.Encode(Utf8("ADD"), Utf8("soak-bad"), Utf8("any"), Utf8("T"), invalidUtf8), BadOutcome.Error, "INVALID", false),
            new("unknown command", Cmd("NOSUCHCOMMAND", "a", "b"), BadOutcome.Error, "ERR", false),
            new("stream name of 300 bytes", Cmd("GET", new string('s', 300), "0", "10"), BadOutcome.Error, "INVALID", false),
            new("event type of 200 bytes", Cmd("ADD", "soak-bad", "any", new string('t', 200), "{}"), BadOutcome.Error, "INVALID", false),
            new("message id of 200 bytes", Cmd("ADD", $"{{\"stream\":\"soak-bad\",\"version\":\"any\",\"events\":[{{\"type\":\"T\",\"data\":{{}},\"message_id\":\"{new string('m', 200)}\"}}]}}"), BadOutcome.Error, "INVALID", false),
            new("GET without arguments (wrong arity)", Cmd("GET"), BadOutcome.Error, "ERR", false),
            new("ADD with a type and no data (wrong arity)", Cmd("ADD", "soak-bad", "any", "T"), BadOutcome.Error, "ERR", false),
            new("truncated JSON", Cmd("GET", "{\"stream\":"), BadOutcome.Error, null, false),
            new("FOLLOW of an unknown channel", Cmd("FOLLOW", "nochannel", "0"), BadOutcome.Error, "INVALID", false),
            new("BLOCK over 2^31-1 ms", Cmd("GET", "soak-bad", "0", "10", "BLOCK", "99999999999"), BadOutcome.Error, null, false),
            new("CONFIG GET with a 64 KiB pattern", Cmd("CONFIG", "GET", longPattern), BadOutcome.Error, "ERR", false),
            new("PSUBSCRIBE with a 64 KiB pattern", Cmd("PSUBSCRIBE", longPattern), BadOutcome.Error, "ERR", true),
            new("protocol error: bulk length not a number", Raw("*2\r\n$3\r\nGET\r\n$x\r\n"), BadOutcome.ErrorThenClose, "ERR Protocol error", true),
            new("protocol error: bulk over --max-bulk-bytes", Raw("*2\r\n$3\r\nGET\r\n$1000000000\r\n"), BadOutcome.ErrorThenClose, "ERR Protocol error", true),
            new("protocol error: array length not a number", Raw("*x\r\n"), BadOutcome.ErrorThenClose, "ERR Protocol error", true),
            new("protocol error: inline line of 70 KB", Raw(new string('A', 70_000) + "\r\n"), BadOutcome.ErrorThenClose, "ERR Protocol error", true),
            new("HTTP request", Raw("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"), BadOutcome.ErrorOrClose, null, true),
        ];
    }
}
