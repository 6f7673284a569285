using System.Text.Json;
using EventflowDb.Server.Commands;
using EventflowDb.Server.Security;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// What every API request goes through before and after its handler, in the order a RESP command does: the server must
/// be serving (503 while the store opens or the server stops), the caller authenticated (401), its user allowed to run
/// the RESP commands the endpoint stands for (403, <see cref="CommandRights"/>); then bad input thrown by the shared
/// parsers and checks (<see cref="CommandException"/>) becomes the SPEC's error reply, and a fault is logged and answered
/// 500, never a dropped connection. An endpoint that stands for one form of a command whose forms differ in rights
/// (STREAMMETA, SNAPSHOT) names that form's categories.
/// </summary>
internal static class ApiCall
{
    public static async Task RunAsync(HttpContext context, ServerHealth health, string[] commands, Func<HttpCaller, Task> handler, AclCategory? categories = null)
    {
        context.Response.Headers.CacheControl = "no-store";
        var server = health.Server;
        if (server is null)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "LOADING", $"EventflowDB is {health.Status}").ConfigureAwait(false);
            return;
        }

        var (user, authError, failedName) = HttpAuth.Authenticate(context.Request, server.Access);
        if (user is null)
        {
            if (failedName is not null)
            {
                // As a failed AUTH: logged (at most once a second per address) and in ACL LOG under the name tried.
                server.FailedAuthLog.Record(context.Connection.RemoteIpAddress);
                server.Access.Log.Record(AclLogReason.Auth, "AUTH", ErrorText.Excerpt(failedName), HttpCaller.Describe(context));
            }

            await HttpErrors.WriteAsync(context, authError!).ConfigureAwait(false);
            return;
        }

        var caller = new HttpCaller(server, user, context);
        foreach (string name in commands)
        {
            var command = server.Commands.Find(name) ?? throw new InvalidOperationException($"no command {name}");
            if (CommandRights.Refusal(caller, command, categories ?? command.Categories) is { } refusal)
            {
                await HttpErrors.WriteAsync(context, refusal).ConfigureAwait(false);
                return;
            }
        }

        Interlocked.Increment(ref server.TotalCommands);
        try
        {
            await handler(caller).ConfigureAwait(false);
        }
        catch (CommandException e) when (!context.Response.HasStarted)
        {
            await HttpErrors.WriteAsync(context, e.Message).ConfigureAwait(false);
        }
        catch (JsonException e) when (!context.Response.HasStarted)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "ERR", $"invalid JSON: {e.Message}").ConfigureAwait(false);
        }
        catch (Cluster.ClusterUnavailableException e) when (!context.Response.HasStarted)
        {
            // A group change on a cluster follower (READONLY leader=...) or without a leader (TRYAGAIN), as for stream writes.
            await HttpErrors.WriteAsync(context, e.Message, StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            server.Logger.Error(e, "HTTP {Method} {Path} from {Remote} failed", context.Request.Method, context.Request.Path.ToString(), context.Connection.RemoteIpAddress);
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "ERR", $"internal error: {e.Message}").ConfigureAwait(false);
        }
    }
}
