using System.IO.Pipelines;
using System.Reflection;
using EventflowDb.Server.Configuration;
using Pipelines.Sockets.Unofficial;

namespace EventflowDb.Server.Network;

/// <summary>
/// How much output of a connection is unsent, and how much the send pipe may hold.
/// <para>
/// <b>Unsent output</b> is what the server has written for a client that the socket has not taken yet: the bytes
/// flushed into the connection's send pipe and not yet consumed by its send loop (a send the kernel has not
/// accepted counts until it completes), plus, for the writer that asks, what it wrote and has not flushed.
/// Bytes in the kernel's socket buffers are sent, as in Redis. The pipe's length is read directly (no system
/// call, no allocation), so every flush can check it.
/// </para>
/// </summary>
internal static class OutputAccounting
{
    private const long Slack = 1024 * 1024;

    // Pipelines.Sockets.Unofficial exposes a connection's send-pipe length only through GetCounters(), which also
    // asks the kernel for the receive backlog (a system call). The pipe itself is read once per connection.
    private static readonly FieldInfo? SendPipeField =
        typeof(SocketConnection).GetField("_sendToSocket", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>True when the send pipe of a connection can be read without a system call (else GetCounters is used).</summary>
    public static bool DirectPipeLength => SendPipeField?.FieldType == typeof(Pipe);

    /// <summary>The send pipe of <paramref name="connection"/>, or null when this version of the library hides it.</summary>
    public static Pipe? SendPipeOf(SocketConnection connection) =>
        DirectPipeLength ? SendPipeField!.GetValue(connection) as Pipe : null;

    /// <summary>Bytes flushed into the send pipe and not yet taken by the socket.</summary>
    public static long PipeLength(SocketConnection? connection, Pipe? sendPipe) =>
        sendPipe is not null ? SocketConnection.Counters.GetPipeLength(sendPipe)
            : connection is not null ? connection.GetCounters().BytesWaitingToBeSent
            : 0;

    /// <summary>
    /// The send pipe's pause threshold: above every configured limit (plus slack), so that a writer is never held
    /// by back-pressure before the limits have had their say; the limits, not the pipe, bound a client's output.
    /// For a class without a hard limit it is also the backstop: its writers wait there (the connection stays,
    /// bounded, until the soft limit or the client ends it).
    /// </summary>
    public static long PauseThreshold(ServerOptions options)
    {
        long largest = Math.Max(
            Math.Max(options.NormalOutputLimit.HardBytes, options.NormalOutputLimit.SoftBytes),
            Math.Max(options.PubSubOutputLimit.HardBytes, options.PubSubOutputLimit.SoftBytes));
        return Math.Clamp(largest, Slack, long.MaxValue / 4) + Slack;
    }

    /// <summary>
    /// How much unsent output the subscription pump lets a push subscriber have before it stops writing and waits
    /// (the events stay in the log): the pubsub soft limit, else its hard limit, else 1 MiB. A subscriber that does
    /// not read therefore stays just over its soft limit and is dropped after the soft seconds, or passes its hard
    /// limit when there is no soft one.
    /// </summary>
    public static long PumpWindow(ServerOptions options) =>
        options.PubSubOutputLimit.SoftBytes > 0 ? options.PubSubOutputLimit.SoftBytes
            : options.PubSubOutputLimit.HardBytes > 0 ? options.PubSubOutputLimit.HardBytes
            : Slack;
}
