using System.Buffers;
using EventflowDb.Protocol;

namespace EventflowDb.Server.Network;

/// <summary>
/// Recognises HTTP sent to the RESP port, as a browser tricked into posting to it would (cross-protocol scripting):
/// such a connection is closed before anything it sent runs, as Redis does for <c>POST</c> and <c>Host:</c>.
/// Also recognises a TLS client on the plaintext port, by the first bytes of its handshake.
/// </summary>
internal static class CrossProtocol
{
    /// <summary>
    /// True for a request named <c>POST</c>, <c>PUT</c> or <c>Host:</c> (no such commands exist), and for an inline
    /// HTTP request line, <c>&lt;method&gt; &lt;target&gt; HTTP/&lt;version&gt;</c> (<c>GET / HTTP/1.1</c>; the
    /// inline command <c>GET stream 0 10</c> is not one).
    /// </summary>
    public static bool LooksLikeHttp(RespRequest request) =>
        request.EqualsIgnoreCase(0, "POST"u8)
        || request.EqualsIgnoreCase(0, "PUT"u8)
        || request.EqualsIgnoreCase(0, "HOST:"u8)
        || (request.IsInline && request.Count == 3 && request[2].StartsWith("HTTP/"u8));

    /// <summary>
    /// True when the first bytes of a connection are a TLS handshake record (content type 0x16, version major 3):
    /// no RESP request starts with the control character 0x16, so one byte is enough when only one has arrived.
    /// </summary>
    public static bool LooksLikeTlsHandshake(in ReadOnlySequence<byte> firstBytes)
    {
        var first = firstBytes.FirstSpan;
        if (first.IsEmpty || first[0] != 0x16)
        {
            return false;
        }

        return firstBytes.Length < 2 || (first.Length >= 2 ? first[1] : firstBytes.Slice(1, 1).FirstSpan[0]) == 0x03;
    }
}
