using EventflowDb.Server.Commands;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// One authenticated HTTP request as the ACL sees it (<see cref="IAclSubject"/>): the user its credentials named, and
/// the running server. Refusals go to the same <c>ACL LOG</c> as RESP ones, with the client's address and request line.
/// </summary>
internal sealed class HttpCaller(ServerContext server, AclUser user, HttpContext context) : IAclSubject
{
    public ServerContext Server => server;

    public AclUser User => user;

    public HttpContext Context => context;

    public CancellationToken Aborted => context.RequestAborted;

    public void RecordRefusal(AclLogReason reason, string objectName, string? userName = null) =>
        server.Access.Log.Record(reason, ErrorText.Excerpt(objectName), ErrorText.Excerpt(userName ?? user.Name), Describe(context));

    /// <summary>The client as <c>ACL LOG</c>'s client-info shows it: address and request line.</summary>
    public static string Describe(HttpContext context) =>
        $"addr={context.Connection.RemoteIpAddress}:{context.Connection.RemotePort} http={context.Request.Method} {ErrorText.Excerpt(context.Request.Path.ToString())}";
}
