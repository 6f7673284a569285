using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Durability;

/// <summary>One ADD as sent: every event of it has the batch's unique tag as its type.</summary>
public sealed record SentBatch(string Tag, string Stream, int Size, bool WithMessageIds, string[] Request);

/// <summary>
/// Concurrent writers over raw connections, recording every ADD sent and every ADD acknowledged,
/// and the checks that a log read back after a crash must pass.
/// </summary>
public sealed class Workload
{
    private readonly string[] _streams;

    public Workload(string[] streams) => _streams = streams;

    /// <summary>Every ADD sent, by tag (acknowledged or not).</summary>
    public ConcurrentDictionary<string, SentBatch> Sent { get; } = new(StringComparer.Ordinal);

    /// <summary>The reply of every acknowledged ADD, by tag.</summary>
    public ConcurrentDictionary<string, IReadOnlyList<string>> Acked { get; } = new(StringComparer.Ordinal);

    /// <summary>ADDs answered with an error, by tag, with the error: none of their events may be stored.</summary>
    public ConcurrentDictionary<string, string> Rejected { get; } = new(StringComparer.Ordinal);

    /// <summary>Unexpected replies (errors, wrong shapes): must stay empty.</summary>
    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>Starts <paramref name="writers"/> writers against <paramref name="server"/> until <paramref name="stop"/> or until the connection dies; returns the number of acknowledged ADDs.</summary>
    public async Task<int> RunAsync(ServerProcess server, string round, int writers, CancellationToken stop)
    {
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() => WriterAsync(server, $"{round}w{w}", stop))).ToList();
        var counts = await Task.WhenAll(tasks);
        return counts.Sum();
    }

    /// <summary>Builds one ADD: positional or JSON (with message ids), 1 event or 1..20.</summary>
    public SentBatch NewBatch(string tag, Random random)
    {
        string stream = _streams[random.Next(_streams.Length)];
        int size = random.Next(2) == 0 ? 1 : random.Next(1, 21);
        bool withIds = random.Next(3) == 0;
        string[] request;
        if (withIds)
        {
            var events = Enumerable.Range(0, size).Select(i => new
            {
                type = tag,
                data = new { tag, i, pad = new string('j', random.Next(0, 300)) },
                metadata = i % 2 == 0 ? (object)"meta" : new { i },
                message_id = $"{tag}-m{i}",
            });
            request = ["ADD", JsonSerializer.Serialize(new { stream, version = "any", events })];
        }
        else
        {
            var args = new List<string> { "ADD", stream, "any" };
            for (int i = 0; i < size; i++)
            {
                args.Add(tag);
                args.Add(i % 3 == 2 ? $"plain string {tag} {i}" : $$"""{"tag":"{{tag}}","i":{{i}},"pad":"{{new string('p', random.Next(0, 300))}}"}""");
            }

            request = [.. args];
        }

        return new SentBatch(tag, stream, size, withIds, request);
    }

    /// <summary>
    /// Checks a log read back after a crash against what was sent: every acknowledged event present byte for byte,
    /// every batch present whole or not at all, positions gap-free, ids increasing, streams consistent, counts exact.
    /// Returns the log.
    /// </summary>
    public async Task<List<StoredEvent>> VerifyAsync(ServerProcess server)
    {
        await using var c = await server.OpenAuthenticatedRawAsync();
        var state = await StoreState.ReadAsync(c);
        var log = await c.ReadWholeLogAsync();
        EventAssert.WholeLog(log);
        Assert.True(state.Events == log.Count, $"EVENTCOUNT says {state.Events}, a GETALL scan finds {log.Count}");
        Assert.Equal(log.Count == 0 ? StoredEvent.ZeroUlid : log[^1].Id, state.LastId);

        var byId = new Dictionary<string, StoredEvent>(StringComparer.Ordinal);
        foreach (var e in log)
        {
            Assert.True(byId.TryAdd(e.Id, e), $"duplicate id in the log: {e.Raw}");
        }

        // Every acknowledged event is there, unchanged.
        int missing = 0;
        var missingExamples = new List<string>();
        foreach (var (tag, raws) in Acked)
        {
            foreach (var raw in raws)
            {
                var e = StoredEvent.Parse(raw);
                if (!byId.TryGetValue(e.Id, out var found))
                {
                    missing++;
                    if (missingExamples.Count < 5)
                    {
                        missingExamples.Add(raw);
                    }
                }
                else
                {
                    Assert.True(found.Raw == raw, $"acknowledged event of {tag} changed:\nacked: {raw}\nnow:   {found.Raw}");
                }
            }
        }

        Assert.True(missing == 0, $"{missing} acknowledged events are missing after the restart, e.g.:\n{string.Join('\n', missingExamples)}");

        // Every batch in the log is whole, and was sent.
        foreach (var group in log.GroupBy(e => e.Type))
        {
            Assert.True(Sent.TryGetValue(group.Key, out var sent), $"the log holds events of type {group.Key}, which no ADD sent: {group.First().Raw}");
            Assert.False(Rejected.TryGetValue(group.Key, out var error), $"ADD {group.Key} was answered '{error}', yet its events are in the log: {group.First().Raw}");
            var events = group.ToList();
            Assert.True(events.Count == sent!.Size, $"batch {sent.Tag} had {sent.Size} events, the log holds {events.Count} (acknowledged: {Acked.ContainsKey(sent.Tag)}): first {events[0].Raw}");
            EventAssert.OneAdd(events, sent.Stream);
            if (Acked.TryGetValue(sent.Tag, out var acked))
            {
                Assert.Equal(acked, events.Select(e => e.Raw));
            }
        }

        // Streams read by GET agree with the log.
        var streams = log.Select(e => e.Stream).Distinct().ToList();
        Assert.Equal(state.Streams, streams.Count);
        foreach (var stream in streams)
        {
            var read = await c.ReadWholeStreamAsync(stream);
            EventAssert.WholeStream(read, stream);
            var expected = log.Where(e => e.Stream == stream).Select(e => e.Raw).ToList();
            Assert.True(expected.SequenceEqual(read.Select(e => e.Raw)), $"GET {stream} ({read.Count} events) disagrees with GETALL ({expected.Count} events)");
        }

        var summaries = (await c.ListAllStreamsAsync()).Select(s => JsonDocument.Parse(s).RootElement).ToList();
        Assert.Equal(streams.Count, summaries.Count);
        foreach (var summary in summaries)
        {
            string name = summary.GetProperty("stream").GetString()!;
            long count = log.Count(e => e.Stream == name);
            Assert.True(summary.GetProperty("events").GetInt64() == count, $"LISTSTREAMS says {summary.GetRawText()}, the log holds {count} events of it");
            Assert.Equal(count - 1, summary.GetProperty("version").GetInt64());
        }

        return log;
    }

    private async Task<int> WriterAsync(ServerProcess server, string name, CancellationToken stop)
    {
        var random = new Random(HashCode.Combine(name, Environment.TickCount));
        int acked = 0;
        RespConnection c;
        try
        {
            c = await server.OpenAuthenticatedRawAsync();
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or InvalidOperationException)
        {
            return 0;
        }

        await using (c)
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                var batch = NewBatch($"{name}n{n}", random);
                Sent[batch.Tag] = batch;
                EventflowDb.Protocol.RespValue reply;
                try
                {
                    reply = await c.CommandAsync(batch.Request);
                }
                catch (Exception e) when (e is SocketException or IOException or TimeoutException or ObjectDisposedException)
                {
                    break;
                }

                if (reply.IsError())
                {
                    Rejected[batch.Tag] = reply.Text ?? "";
                }

                if (reply.IsError() || reply.Type != EventflowDb.Protocol.RespType.Array || reply.Items.Count != batch.Size)
                {
                    Problems.Enqueue($"{batch.Tag}: unexpected reply {RespText.Describe(reply)}");
                    continue;
                }

                var raws = reply.Strings();
                try
                {
                    var events = StoredEvent.ParseAll(raws);
                    EventAssert.OneAdd(events, batch.Stream);
                    Assert.All(events, e => Assert.Equal(batch.Tag, e.Type));
                }
                catch (Exception e) when (e is Xunit.Sdk.XunitException)
                {
                    Problems.Enqueue($"{batch.Tag}: bad reply: {e.Message}");
                }

                Acked[batch.Tag] = raws;
                acked++;
            }
        }

        return acked;
    }
}
