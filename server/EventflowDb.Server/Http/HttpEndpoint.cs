using System.Net;
using System.Text;
using System.Text.Json.Serialization;
using EventflowDb.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace EventflowDb.Server.Http;

/// <summary>
/// The HTTP port (<c>--http-port</c>, Kestrel): <c>GET /health</c> and <c>GET /metrics</c>. It starts before the store
/// opens, so that /health can say "loading" while the log replays. /health needs no credentials (load balancers and
/// container health checks probe it, and it tells nothing but the state); /metrics needs HTTP Basic with a user's name
/// and password whenever the RESP port needs AUTH.
/// </summary>
internal sealed class HttpEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpEndpoint(WebApplication app) => _app = app;

    public static async Task<HttpEndpoint> StartAsync(IPEndPoint endpoint, ServerHealth health, AccessControl access, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Listen(endpoint);
        });
        var app = builder.Build();
        app.MapGet("/health", (HttpContext context) => Health(context, health));
        app.MapGet("/metrics", (HttpContext context) => MetricsAsync(context, health, access));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new HttpEndpoint(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static IResult Health(HttpContext context, ServerHealth health)
    {
        context.Response.Headers.CacheControl = "no-store";
        var server = health.Server;
        if (server is null)
        {
            return Results.Json(new HealthReply(health.Status, null), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        // A read-only store still serves reads: healthy, but the reason is there for whoever looks.
        return Results.Json(new HealthReply(health.Status, server.Store.ReadOnlyReason));
    }

    private static async Task MetricsAsync(HttpContext context, ServerHealth health, AccessControl access)
    {
        context.Response.Headers.CacheControl = "no-store";
        var server = health.Server;
        var metrics = health.Metrics;
        if (server is null || metrics is null)
        {
            await Results.Json(new ErrorReply("LOADING", $"EventflowDB is {health.Status}"), statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (access.AuthenticationRequired && !BasicCredentialsAccepted(context.Request, access))
        {
            server.FailedAuthLog.Record(context.Connection.RemoteIpAddress);
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"EventflowDB\", charset=\"UTF-8\"";
            await Results.Json(new ErrorReply("NOAUTH", "HTTP Basic authentication with a user's name and password is required"), statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>True for <c>Authorization: Basic</c> with the name and password of a user that is on.</summary>
    private static bool BasicCredentialsAccepted(HttpRequest request, AccessControl access)
    {
        string header = request.Headers.Authorization.ToString();
        const string Scheme = "Basic ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length > 4096)
        {
            return false;
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(header[Scheme.Length..].Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        int colon = Array.IndexOf(decoded, (byte)':');
        if (colon < 0)
        {
            return false;
        }

        string name = Encoding.UTF8.GetString(decoded, 0, colon);
        return access.Authenticate(name, decoded.AsSpan(colon + 1)) is not null;
    }

    private sealed record HealthReply(string Status, [property: JsonPropertyName("read_only")] string? ReadOnly);

    private sealed record ErrorReply(string Error, string Message);
}
