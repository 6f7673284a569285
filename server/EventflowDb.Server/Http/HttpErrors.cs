using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// Error replies of the HTTP API: the SPEC's code word and message as <c>{"error": "CODE", "message": "..."}</c>, with
/// the status the SPEC gives the code (WRONGVERSION 409, TOOLARGE 413, NOPERM 403, NOAUTH/WRONGPASS 401, INVALID and
/// ERR 400). Two statuses the SPEC leaves open: a read-only store (disk full, I/O error) answers 503 with <c>ERR</c>,
/// and a fault of the server 500 with <c>ERR</c>.
/// </summary>
internal static class HttpErrors
{
    /// <summary>The status of an error reply whose code word is <paramref name="code"/>.</summary>
    public static int StatusOf(string code) => code switch
    {
        "WRONGVERSION" => StatusCodes.Status409Conflict,
        "TOOLARGE" => StatusCodes.Status413PayloadTooLarge,
        "NOPERM" => StatusCodes.Status403Forbidden,
        "NOAUTH" or "WRONGPASS" => StatusCodes.Status401Unauthorized,
        "LOADING" => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Writes an error given as the RESP error text ("CODE message"), with the status of its code.</summary>
    public static Task WriteAsync(HttpContext context, string error, int? status = null)
    {
        int space = error.IndexOf(' ', StringComparison.Ordinal);
        string code = space < 0 ? error : error[..space];
        string message = space < 0 ? "" : error[(space + 1)..];
        return WriteAsync(context, status ?? StatusOf(code), code, message);
    }

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        // Not for the web console (X-Requested-With): the challenge would make the browser show its own sign-in dialog.
        if (status == StatusCodes.Status401Unauthorized && !context.Request.Headers.ContainsKey("X-Requested-With"))
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"EventflowDB\", charset=\"UTF-8\"";
        }

        return Results.Json(new ErrorReply(code, message), statusCode: status).ExecuteAsync(context);
    }
}

/// <summary>The body of every error reply.</summary>
/// <param name="Error">The SPEC's code word: ERR, INVALID, WRONGVERSION, TOOLARGE, NOAUTH, WRONGPASS, NOPERM, LOADING.</param>
/// <param name="Message">What went wrong, as the RESP error says it after the code word.</param>
internal sealed record ErrorReply([property: JsonPropertyName("error")] string Error, [property: JsonPropertyName("message")] string Message);
