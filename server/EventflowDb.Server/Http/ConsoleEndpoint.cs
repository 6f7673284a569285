using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// The web console (SPEC "HTTP": <c>GET /</c>): static HTML, CSS and JavaScript modules embedded in the server assembly
/// (<c>Console/</c>, EmbeddedResource <c>console/&lt;file&gt;</c>), served at <c>/</c> (index.html) and
/// <c>/console/&lt;file&gt;</c>. The files hold no data and need no credentials; the console calls the API with the
/// user's HTTP Basic credentials like any other client.
/// </summary>
internal static class ConsoleEndpoint
{
    private const string ResourcePrefix = "console/";

    private static readonly FrozenDictionary<string, ConsoleFile> Files = Load();

    public static Task IndexAsync(HttpContext context) => ServeAsync(context, "index.html");

    public static Task FileAsync(HttpContext context, string file) => ServeAsync(context, file);

    private static async Task ServeAsync(HttpContext context, string name)
    {
        if (!Files.TryGetValue(name, out var file))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ERR", "no console file " + Commands.ErrorText.Excerpt(name)).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.Headers.ETag = file.ETag;
        // Revalidated on every load (a 304 when unchanged), so a new server version is never mixed with old files.
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        if (name == "index.html")
        {
            response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'";
        }

        if (context.Request.Headers.IfNoneMatch.ToString() == file.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = file.ContentType;
        response.ContentLength = file.Bytes.Length;
        await response.Body.WriteAsync(file.Bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private static FrozenDictionary<string, ConsoleFile> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            string name = resource[ResourcePrefix.Length..];
            string etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes), 0, 8) + "\"";
            files[name] = new ConsoleFile(bytes, ContentTypeOf(name), etag);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private sealed record ConsoleFile(byte[] Bytes, string ContentType, string ETag);
}
