using System.Text;
using EventflowDb.Server.Security;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// HTTP Basic with the server's users (SPEC "HTTP"): <c>default</c> and its <c>--password</c>, or any ACL user. Without
/// an Authorization header a request runs as <c>default</c> when it needs no password (as a RESP connection does).
/// </summary>
internal static class HttpAuth
{
    private const string Scheme = "Basic ";

    /// <summary>
    /// The user the request runs as; null (and why, as "CODE message") when it must not run, with the user name that
    /// failed credentials named (for <c>ACL LOG</c>).
    /// </summary>
    public static (AclUser? User, string? Error, string? FailedName) Authenticate(HttpRequest request, AccessControl access)
    {
        string header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return access.AuthenticationRequired
                ? (null, "NOAUTH Authentication required: HTTP Basic with a user's name and password", null)
                : (access.Default, null, null);
        }

        var (name, password) = Credentials(header);
        var user = name is null ? null : access.Authenticate(name, password);
        return user is not null ? (user, null, null) : (null, "WRONGPASS invalid username-password pair or user is disabled.", name ?? "");
    }

    /// <summary>The name and password of an <c>Authorization: Basic</c> header; a null name when it is none.</summary>
    private static (string? Name, byte[] Password) Credentials(string header)
    {
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length > 4096)
        {
            return (null, []);
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(header[Scheme.Length..].Trim());
        }
        catch (FormatException)
        {
            return (null, []);
        }

        int colon = Array.IndexOf(decoded, (byte)':');
        return colon < 0 ? (null, []) : (Encoding.UTF8.GetString(decoded, 0, colon), decoded[(colon + 1)..]);
    }
}
