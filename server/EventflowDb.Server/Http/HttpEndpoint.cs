using System.ComponentModel;
using System.Net;
using System.Text.Json.Serialization;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Network.Tls;
using EventflowDb.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;
using Prometheus;
using Scalar.AspNetCore;

namespace EventflowDb.Server.Http;

/// <summary>
/// The HTTP port (<c>--http-port</c>, Kestrel): the API of SPEC "HTTP" (<see cref="StreamEndpoints"/>,
/// <see cref="StatsEndpoint"/>, <see cref="SubscribeEndpoint"/>, <see cref="GroupEndpoints"/>), its OpenAPI document at
/// <c>/openapi/v1.json</c> and an interactive reference at <c>/scalar</c>, <c>GET /health</c>, <c>GET /metrics</c> and the
/// web console at <c>/</c> (<see cref="ConsoleEndpoint"/>). It starts before the store opens,
/// so that /health can say "loading" while the log replays (the API answers 503 until then). /health, the OpenAPI
/// document, the reference and the console's files need no credentials; everything else needs HTTP Basic whenever the RESP port needs AUTH.
/// </summary>
internal sealed class HttpEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _stopped;

    private HttpEndpoint(WebApplication app) => _app = app;

    /// <param name="https">When set, the port speaks HTTPS only, with the TLS port's certificate and client-certificate rule
    /// (taken at each handshake, so a reload by SIGHUP or CONFIG SET applies to HTTPS too).</param>
    public static async Task<HttpEndpoint> StartAsync(IPEndPoint endpoint, ServerHealth health, AccessControl access, int maxAppendBytes, int maxClients, TlsCertificates? https, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // --maxclients bounds HTTP connections too (subscriptions hold theirs open), counted apart from RESP's.
            kestrel.Limits.MaxConcurrentConnections = maxClients;
            // Above the ADD limit, so that a body a little over it is read to its end (drained) after the 413 and the
            // client sees the reply; a Content-Length over the ADD limit is answered before its body is read
            // (with "Expect: 100-continue", as curl sends for large bodies, the body is never sent).
            kestrel.Limits.MaxRequestBodySize = maxAppendBytes + (1024L * 1024);
            kestrel.Listen(endpoint, listen =>
            {
                if (https is not null)
                {
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(https.HttpHandshakeOptions ?? throw new InvalidOperationException("no TLS certificate is loaded")),
                    });
                }
            });
        });
        // Numbers are numbers (the web default also reads them from strings, and the schemas would say so).
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "EventflowDB HTTP API";
                document.Info.Description = "Events in replies are byte for byte the JSON of the RESP replies. Errors are {\"error\": \"<CODE>\", \"message\": \"...\"}. "
                    + "Authentication: HTTP Basic with a user's name and password whenever the server has a password or users.";
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                // Bound as strings (the handlers parse them, with the RESP errors), documented as what they are; the
                // "from" of /subscribe is an event id.
                bool fromIsVersion = context.Description.RelativePath?.StartsWith("streams/", StringComparison.Ordinal) == true;
                foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>().Where(p => p.Name is "limit" or "skip" or "heartbeat" or "count" || (p.Name == "from" && fromIsVersion)))
                {
                    parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" };
                }

                return Task.CompletedTask;
            });
        });
        var app = builder.Build();

        // What routing refuses (404 no such endpoint, 405 wrong method) gets the API's error body too.
        app.UseStatusCodePages(pages =>
        {
            var context = pages.HttpContext;
            int status = context.Response.StatusCode;
            string message = status switch
            {
                StatusCodes.Status404NotFound => $"no endpoint {context.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"{context.Request.Method} is not allowed on {context.Request.Path}",
                _ => $"HTTP {status}",
            };
            return HttpErrors.WriteAsync(context, status, "ERR", ErrorText.Excerpt(message));
        });
        MapApi(app, health, maxAppendBytes);
        app.MapGet("/health", (HttpContext context) => Health(context, health)).ExcludeFromDescription();
        app.MapGet("/metrics", (HttpContext context) => MetricsAsync(context, health, access)).ExcludeFromDescription();
        app.MapGet("/", ConsoleEndpoint.IndexAsync).ExcludeFromDescription();
        app.MapGet("/console/{file}", ConsoleEndpoint.FileAsync).ExcludeFromDescription();
        app.MapOpenApi();
        app.MapScalarApiReference(options => options.WithTitle("EventflowDB HTTP API"));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new HttpEndpoint(app);
    }

    /// <summary>Stops taking requests and ends the running ones (subscriptions end their streams); call before the store closes.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(grace.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static void MapApi(WebApplication app, ServerHealth health, int maxAppendBytes)
    {
        var streams = new StreamEndpoints(health, maxAppendBytes);
        var stats = new StatsEndpoint(health);
        var subscribe = new SubscribeEndpoint(health, app.Lifetime.ApplicationStopping);
        var groups = new GroupEndpoints(health);
        var lifecycle = new LifecycleEndpoints(health, streams, maxAppendBytes);

        // The typed parameters are there for the OpenAPI document: the handlers read the request themselves, with the
        // RESP commands' rules and error replies (a query parameter bound as a number would fail with an empty 400).
        app.MapPost(
            "/streams/{stream}",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream, [FromHeader(Name = "Expected-Version"), Description("Expected version, instead of the body's version")] string? expectedVersion)
                => streams.AppendAsync(context))
            .WithName("Append").WithTags("Streams").WithSummary("Append events to a stream (ADD)")
            .AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // Declared here, not with Accepts<T>: that would also make routing refuse a body sent without
                // "Content-Type: application/json" (curl -d sends a form type), and the body is JSON whatever its label.
                var schema = await context.GetOrCreateSchemaAsync(typeof(ApiSchemas.AppendBody), null, cancellationToken).ConfigureAwait(false);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                };
            })
            .Produces<ApiSchemas.StoredEvent[]>(StatusCodes.Status201Created)
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge);

        app.MapGet(
            "/streams/{stream}",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream, [Description("First version to return (default 0)")] string? from, [Description("Most events (0 or absent: the default page)")] string? limit)
                => streams.ReadStreamAsync(context))
            .WithName("ReadStream").WithTags("Streams").WithSummary("Read a stream from a version on (GET); next page in the Link header")
            .Produces<ApiSchemas.StoredEvent[]>()
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapGet(
            "/all",
            (HttpContext context, [Description("Event id to read after (absent or 0: from the start)")] string? after, [Description("Most events")] string? limit, [Description("$all, stream:<name>, category:<name> or type:<name>")] string? channel)
                => streams.ReadAllAsync(context))
            .WithName("ReadAll").WithTags("Streams").WithSummary("Read the log in order (GETALL); next page in the Link header")
            .Produces<ApiSchemas.StoredEvent[]>()
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapGet(
            "/streams",
            (HttpContext context, [Description("Streams to skip")] string? skip, [Description("Most streams")] string? limit)
                => streams.ListStreamsAsync(context))
            .WithName("ListStreams").WithTags("Streams").WithSummary("List streams in creation order (LISTSTREAMS); next page in the Link header")
            .Produces<ApiSchemas.StreamSummary[]>()
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        MapLifecycle(app, lifecycle);

        app.MapGet("/stats", (Delegate)((HttpContext context) => stats.GetAsync(context)))
            .WithName("Stats").WithTags("Server").WithSummary("Counters, CHECKSUM, SIZE, UPTIME and VERSION")
            .Produces<StatsReply>()
            .WithErrorReplies();

        app.MapGet(
            "/events/{id}",
            (HttpContext context, [Description("Event id (ULID)")] string id) => streams.ReadEventAsync(context))
            .WithName("ReadEvent").WithTags("Streams").WithSummary("Read one event by its id (for causation and correlation ids); 404 when no event has it")
            .Produces<ApiSchemas.StoredEvent>()
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        app.MapGet("/groups", (Delegate)((HttpContext context) => groups.ListAsync(context)))
            .WithName("ListGroups").WithTags("Consumer groups").WithSummary("Consumer groups whose channel the user may read (GROUP INFO)")
            .Produces<GroupSummary[]>()
            .WithErrorReplies();

        app.MapGet(
            "/groups/{group}",
            (HttpContext context, [Description("Group name, percent-encoded")] string group, [Description("Most pending and most parked events to return (default 100)")] string? count)
                => groups.GetAsync(context))
            .WithName("GetGroup").WithTags("Consumer groups").WithSummary("A group (GROUP INFO) with its first pending and parked events (GROUP PARKED)")
            .Produces<ApiSchemas.GroupDetail>()
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapPost(
            "/groups/{group}/replay",
            (HttpContext context, [Description("Group name, percent-encoded")] string group) => groups.ReplayAsync(context))
            .WithName("ReplayParked").WithTags("Consumer groups").WithSummary("Make every parked event pending and due at once (GROUP REPLAY)")
            .Produces<ReplayReply>()
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapGet(
            "/subscribe",
            (HttpContext context, [Description("$all (default), stream:<name>, category:<name> or type:<name>")] string? channel, [Description("Event id to follow after (absent or 0: from the start)")] string? from, [FromHeader(Name = "Last-Event-ID"), Description("Resume after this event id (wins over from)")] string? lastEventId, [Description("Seconds between heartbeat comments while idle (default 15)")] string? heartbeat)
                => subscribe.SubscribeAsync(context))
            .WithName("Subscribe").WithTags("Subscriptions").WithSummary("Server-Sent Events: catch-up, then live (FOLLOW)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .WithErrorReplies(StatusCodes.Status400BadRequest);
    }

    /// <summary>The stream lifecycle endpoints (<see cref="LifecycleEndpoints"/>).</summary>
    private static void MapLifecycle(WebApplication app, LifecycleEndpoints lifecycle)
    {
        app.MapDelete(
            "/streams/{stream}",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream, [FromHeader(Name = "Expected-Version"), Description("The stream's event count, when the delete must not race a write")] string? expectedVersion)
                => lifecycle.DeleteAsync(context))
            .WithName("DeleteStream").WithTags("Stream lifecycle").WithSummary("Soft-delete a stream (DELETE): it reads as empty until written again; versions continue")
            .Produces(StatusCodes.Status204NoContent)
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);

        app.MapPost(
            "/streams/{stream}/truncate",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.TruncateAsync(context))
            .WithName("TruncateStream").WithTags("Stream lifecycle").WithSummary("Hide the versions below {\"version\"} (TRUNCATE)")
            .WithJsonBody<ApiSchemas.TruncateBody>()
            .Produces(StatusCodes.Status204NoContent)
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapGet(
            "/streams/{stream}/metadata",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.GetMetadataAsync(context))
            .WithName("GetStreamMetadata").WithTags("Stream lifecycle").WithSummary("The stream's lifecycle settings (STREAMMETA); 404 for a stream never written")
            .Produces<ApiSchemas.StreamMetadataBody>()
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        app.MapPut(
            "/streams/{stream}/metadata",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.SetMetadataAsync(context))
            .WithName("SetStreamMetadata").WithTags("Stream lifecycle").WithSummary("Set maxCount and/or maxAge (STREAMMETA SET); 0 = no limit, a field left out keeps its value")
            .WithJsonBody<ApiSchemas.MetadataBody>()
            .Produces(StatusCodes.Status204NoContent)
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapGet(
            "/streams/{stream}/snapshot",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.GetSnapshotAsync(context))
            .WithName("GetSnapshot").WithTags("Stream lifecycle").WithSummary("The stream's latest snapshot (SNAPSHOT GET); 404 when it has none")
            .Produces<ApiSchemas.SnapshotReply>()
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        app.MapPut(
            "/streams/{stream}/snapshot",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.SaveSnapshotAsync(context))
            .WithName("SaveSnapshot").WithTags("Stream lifecycle").WithSummary("Store the stream's latest snapshot (SNAPSHOT SAVE)")
            .WithJsonBody<ApiSchemas.SnapshotBody>()
            .Produces(StatusCodes.Status204NoContent)
            .WithErrorReplies(StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge);

        app.MapPost(
            "/streams/{stream}/forget",
            (HttpContext context, [Description("Stream name, percent-encoded")] string stream) => lifecycle.ForgetAsync(context))
            .WithName("ForgetStream").WithTags("Stream lifecycle").WithSummary("Forget the stream's data and metadata (FORGET): its events read with null data and \"forgotten\": true")
            .Produces(StatusCodes.Status204NoContent)
            .WithErrorReplies(StatusCodes.Status400BadRequest);

        app.MapPost("/compact", (Delegate)((HttpContext context) => lifecycle.CompactAsync(context)))
            .WithName("Compact").WithTags("Stream lifecycle").WithSummary("Run a compaction now (COMPACT): no byte of forgotten data remains on disk once it answers")
            .Produces<ApiSchemas.CompactReply>()
            .WithErrorReplies(StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Health(HttpContext context, ServerHealth health)
    {
        context.Response.Headers.CacheControl = "no-store";
        var server = health.Server;
        if (server is null)
        {
            return Results.Json(new HealthReply(health.Status, null), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        // A cluster member while no leader is known cannot take writes (SPEC: 503 without a leader).
        if (server.Store is Cluster.ReplicatedEventStore { Node.LeaderAnnounce: null })
        {
            return Results.Json(new HealthReply("no_leader", null), statusCode: StatusCodes.Status503ServiceUnavailable);
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
            await HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "LOADING", $"EventflowDB is {health.Status}").ConfigureAwait(false);
            return;
        }

        if (access.AuthenticationRequired && HttpAuth.Authenticate(context.Request, access).User is null)
        {
            server.FailedAuthLog.Record(context.Connection.RemoteIpAddress);
            await HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "NOAUTH", "HTTP Basic authentication with a user's name and password is required").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record HealthReply(string Status, [property: JsonPropertyName("read_only")] string? ReadOnly);
}

/// <summary>OpenAPI metadata of the API's endpoints.</summary>
internal static class ErrorReplyMetadata
{
    /// <summary>Declares the error replies an endpoint gives (and the 401, 403 and 503 that every API endpoint may give).</summary>
    /// <summary>Declares a JSON request body for the OpenAPI document only (routing does not then require its content type).</summary>
    public static RouteHandlerBuilder WithJsonBody<TBody>(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(TBody), null, cancellationToken).ConfigureAwait(false);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    public static RouteHandlerBuilder WithErrorReplies(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (int status in statuses.Concat([StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable]))
        {
            route.Produces<ErrorReply>(status);
        }

        return route;
    }
}
