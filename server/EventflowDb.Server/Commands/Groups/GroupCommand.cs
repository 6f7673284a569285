using System.Diagnostics;
using EventflowDb.Protocol;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Groups;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Server.Subscriptions;
using NUlid;

namespace EventflowDb.Server.Commands.Groups;

/// <summary>
/// GROUP CREATE|READ|ACK|NACK|PARKED|REPLAY|INFO|DELETE: consumer groups (server-side checkpoints, competing
/// consumers). The state lives in the server's <see cref="GroupRegistry"/>, loaded from the data directory on first use.
/// </summary>
internal sealed class GroupCommand() : Command("GROUP", -2)
{
    private const long DefaultAckTimeoutMs = 30_000;
    private const int DefaultMaxDeliveries = 10;
    private const int DefaultCount = 100;
    private const int MaxCount = 10_000;
    private const int MaxSubcommandLength = 16;

    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        var registry = session.Server.Groups;
        // Decoded only when it can be a subcommand: the argument may be megabytes long.
        string sub = request[1].Length <= MaxSubcommandLength ? request.GetString(1).ToUpperInvariant() : string.Empty;
        if (!session.User.Rules.ReadsAllStreams)
        {
            await CheckStreamRightsAsync(registry, session, sub, request).ConfigureAwait(false);
        }

        switch (sub)
        {
            case "CREATE":
                await CreateAsync(registry, session, request).ConfigureAwait(false);
                break;
            case "READ":
                await ReadAsync(registry, session, request).ConfigureAwait(false);
                break;
            case "ACK":
                Arguments.AtLeast(request, 4, "GROUP ACK <group> <id> [<id> ...]");
                var ids = new List<Ulid>();
                for (int i = 3; i < request.Count; i++)
                {
                    ids.Add(Arguments.EventId(request, i));
                }

                session.Writer.WriteInteger(await registry.AckAsync(request.GetString(2), ids).ConfigureAwait(false));
                break;
            case "NACK":
                Arguments.Exactly(request, 5, "GROUP NACK <group> <id> RETRY|PARK|SKIP");
                var action = request.EqualsIgnoreCase(4, "RETRY"u8) ? NackAction.Retry
                    : request.EqualsIgnoreCase(4, "PARK"u8) ? NackAction.Park
                    : request.EqualsIgnoreCase(4, "SKIP"u8) ? NackAction.Skip
                    : throw CommandException.Syntax("syntax error: GROUP NACK <group> <id> RETRY|PARK|SKIP");
                session.Writer.WriteInteger(await registry.NackAsync(request.GetString(2), Arguments.EventId(request, 3), action).ConfigureAwait(false));
                break;
            case "PARKED":
                Arguments.AtLeast(request, 3, "GROUP PARKED <group> [COUNT n]");
                int count = CountToServe(Arguments.CountOptions(request, 3, "GROUP PARKED <group> [COUNT n]", allowBlock: false).Count);
                Write(session, await registry.ParkedAsync(request.GetString(2), count).ConfigureAwait(false));
                break;
            case "REPLAY":
                Arguments.Exactly(request, 3, "GROUP REPLAY <group>");
                session.Writer.WriteInteger(await registry.ReplayAsync(request.GetString(2)).ConfigureAwait(false));
                break;
            case "INFO":
                if (request.Count > 3)
                {
                    throw CommandException.Syntax("syntax error: GROUP INFO [<group>]");
                }

                var groups = await registry.InfoAsync(request.Count == 3 ? request.GetString(2) : null).ConfigureAwait(false);
                WriteInfo(session.Writer, groups.FindAll(g => session.User.Rules.CoversChannel(g.Channel)));
                break;
            case "DELETE":
                Arguments.Exactly(request, 3, "GROUP DELETE <group>");
                await registry.DeleteAsync(request.GetString(2)).ConfigureAwait(false);
                session.Writer.WriteOk();
                break;
            default:
                throw CommandException.Syntax($"unknown GROUP subcommand '{ErrorText.Excerpt(request[1])}': CREATE, READ, ACK, NACK, PARKED, REPLAY, INFO or DELETE");
        }
    }

    /// <summary>
    /// A user limited to some streams may create or use a group only when its read patterns cover the group's channel
    /// (GROUP INFO without a name lists just those groups).
    /// </summary>
    private static async ValueTask CheckStreamRightsAsync(GroupRegistry registry, ClientSession session, string sub, RespRequest request)
    {
        if (sub == "CREATE" && request.Count >= 4)
        {
            StreamPermissions.CheckChannel(session, request.GetString(3));
        }
        else if (sub is "READ" or "ACK" or "NACK" or "PARKED" or "REPLAY" or "INFO" or "DELETE" && request.Count >= 3)
        {
            await CheckGroupRightsAsync(registry, session, request.GetString(2)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// NOPERM unless the subject's read patterns cover the named group's channel (ERR when there is no such group). Shared
    /// with the HTTP group endpoints.
    /// </summary>
    public static async ValueTask CheckGroupRightsAsync(GroupRegistry registry, IAclSubject subject, string group)
    {
        if (subject.User.Rules.ReadsAllStreams)
        {
            return;
        }

        foreach (var info in await registry.InfoAsync(group).ConfigureAwait(false))
        {
            StreamPermissions.CheckChannel(subject, info.Channel);
        }
    }

    private static async ValueTask CreateAsync(GroupRegistry registry, ClientSession session, RespRequest request)
    {
        const string Usage = "GROUP CREATE <group> <channel> [<from id>|$] [ACKTIMEOUT ms] [MAXDELIVERIES n]";
        Arguments.AtLeast(request, 4, Usage);
        EventRules.ValidateName(request[2], "group name", EventRules.MaxGroupBytes); // before decoding: it may be megabytes
        string name = request.GetString(2);
        string channel = request.GetString(3);
        _ = EventChannels.Parse(channel);
        Ulid? from = Ulid.Empty;
        long ackTimeout = DefaultAckTimeoutMs;
        long maxDeliveries = DefaultMaxDeliveries;
        int i = 4;
        if (i < request.Count && !request.EqualsIgnoreCase(i, "ACKTIMEOUT"u8) && !request.EqualsIgnoreCase(i, "MAXDELIVERIES"u8))
        {
            from = request[i].SequenceEqual("$"u8) ? null : Arguments.Offset(request[i]);
            i++;
        }

        for (; i < request.Count; i++)
        {
            if (request.EqualsIgnoreCase(i, "ACKTIMEOUT"u8) && i + 1 < request.Count)
            {
                ackTimeout = Arguments.Positive(request, ++i, "ack timeout");
            }
            else if (request.EqualsIgnoreCase(i, "MAXDELIVERIES"u8) && i + 1 < request.Count)
            {
                maxDeliveries = Arguments.Positive(request, ++i, "max deliveries");
                if (maxDeliveries > int.MaxValue)
                {
                    throw CommandException.Invalid("max deliveries is too large");
                }
            }
            else
            {
                throw CommandException.Syntax($"syntax error: {Usage}");
            }
        }

        await registry.CreateAsync(name, channel, from, ackTimeout, (int)maxDeliveries).ConfigureAwait(false);
        session.Writer.WriteOk();
    }

    /// <summary>READ, with BLOCK waiting for a commit or for the group's next ack deadline, whichever comes first.</summary>
    private static async ValueTask ReadAsync(GroupRegistry registry, ClientSession session, RespRequest request)
    {
        const string Usage = "GROUP READ <group> <consumer> [COUNT n] [BLOCK ms]";
        Arguments.AtLeast(request, 4, Usage);
        string name = request.GetString(2);
        EventRules.ValidateName(request[3], "consumer name", EventRules.MaxConsumerBytes);
        string consumer = request.GetString(3);
        var (requested, block) = Arguments.CountOptions(request, 4, Usage, allowBlock: true);
        int count = CountToServe(requested);
        long started = Stopwatch.GetTimestamp();
        while (true)
        {
            Ulid seen = session.Store.Checksum.LastId;
            var events = await registry.ReadAsync(name, consumer, count, session.Server.Options.MaxPageBytes).ConfigureAwait(false);
            if (events.Count > 0 || block is null || session.Closing.IsCancellationRequested)
            {
                Write(session, events);
                return;
            }

            long wait = long.MaxValue;
            if (block.Value > 0)
            {
                wait = block.Value - (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (wait <= 0)
                {
                    Write(session, events);
                    return;
                }
            }

            if (await registry.UntilNextDeadlineAsync(name).ConfigureAwait(false) is { } untilDeadline)
            {
                wait = Math.Min(wait, untilDeadline + 1);
            }

            var timeout = wait == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(wait);
            long waitStarted = Stopwatch.GetTimestamp();
            await session.Store.WaitForCommitAfterAsync(seen, timeout, session.Closing).ConfigureAwait(false);
            session.BlockedTicks += Stopwatch.GetElapsedTime(waitStarted).Ticks;
        }
    }

    /// <summary>GROUP READ and PARKED serve <see cref="DefaultCount"/> events unless asked, and never more than <see cref="MaxCount"/>.</summary>
    private static int CountToServe(long? requested) => (int)Math.Min(requested ?? DefaultCount, MaxCount);

    private static void Write(ClientSession session, List<byte[]> events)
    {
        session.Writer.WriteArrayHeader(events.Count);
        foreach (byte[] json in events)
        {
            session.Writer.WriteBulkString(json);
        }
    }

    private static void WriteInfo(RespWriter writer, List<GroupInfo> groups)
    {
        writer.WriteArrayHeader(groups.Count);
        foreach (var g in groups)
        {
            writer.WriteMapHeader(8);
            writer.WriteBulkString("name");
            writer.WriteBulkString(g.Name);
            writer.WriteBulkString("channel");
            writer.WriteBulkString(g.Channel);
            writer.WriteBulkString("position");
            writer.WriteBulkString(g.Position == Ulid.Empty ? "0" : g.Position.ToString());
            writer.WriteBulkString("pending");
            writer.WriteInteger(g.Pending);
            writer.WriteBulkString("parked");
            writer.WriteInteger(g.Parked);
            writer.WriteBulkString("consumers");
            writer.WriteArrayHeader(g.Consumers.Length);
            foreach (string consumer in g.Consumers)
            {
                writer.WriteBulkString(consumer);
            }

            writer.WriteBulkString("ack-timeout-ms");
            writer.WriteInteger(g.AckTimeoutMs);
            writer.WriteBulkString("max-deliveries");
            writer.WriteInteger(g.MaxDeliveries);
        }
    }
}
