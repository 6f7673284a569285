using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;

namespace EventflowDb.Tests.Durability;

/// <summary>
/// One ADD as sent. Every event of it has the batch's unique <see cref="Tag"/> as its type, so the log can be
/// matched back to the requests. <see cref="Version"/> is the expected version as sent: <c>any</c>, <c>no_stream</c>,
/// <c>exists</c> or a number.
/// </summary>
public sealed record CrashBatch(string Tag, string Stream, int Size, string Version, bool WithMessageIds, int LargeBytes, bool Owned, string[] Request)
{
    /// <summary>The version the first event must get, when the request fixes it.</summary>
    public long? FirstVersion => Version == "no_stream" ? 0 : long.TryParse(Version, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;
}

/// <summary>What one round of writers did.</summary>
public sealed record CrashRound(int Acked, int Rejected, int InFlight, int Resent, long AckedBytes);

/// <summary>What a verification read back.</summary>
public sealed record CrashVerification(int Events, long Bytes, int Streams, int InFlightPresent, int InFlightAbsent, string Timings);

/// <summary>
/// The workload of the crash-point tests: concurrent writers over raw RESP connections doing ADDs to shared streams
/// (version <c>any</c>, <c>exists</c> or a guessed number, which may be refused), to streams each writer owns (exact
/// expected versions, which must never be refused), and to new streams (<c>no_stream</c>); batches of 1 to 12
/// events, a third with message ids and metadata, some with one large event (64 KiB to 1.5 MiB) so that log
/// pages and segments fill fast. It records every ADD sent, acknowledged (the reply arrived) and refused, and
/// checks a log read back after a crash against that record.
/// </summary>
public sealed class CrashPointWorkload
{
    private const int OwnedStreamsPerWriter = 8;

    /// <summary>Events per GETALL/GET page when reading back: pages of large events stay a few MiB.</summary>
    private const int VerifyPage = 100;
    private readonly string _prefix;
    private readonly string[] _shared;
    private readonly double _largeShare;
    private readonly Writer[] _writers;
    private readonly ConcurrentDictionary<string, byte> _gone = new(StringComparer.Ordinal);
    private Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private Dictionary<string, List<string>> _presentInFlight = new(StringComparer.Ordinal);
    private List<ulong> _verified = [];

    /// <param name="prefix">Makes stream names and tags unique to this workload.</param>
    /// <param name="writers">Concurrent connections.</param>
    /// <param name="largeShare">Share of batches carrying one large event.</param>
    public CrashPointWorkload(string prefix, int writers, double largeShare)
    {
        _prefix = prefix;
        _largeShare = largeShare;
        _shared = [$"{prefix}-shared-a", $"{prefix}-shared-b", $"{prefix}-shared-c", Guid.NewGuid().ToString()];
        _writers = [.. Enumerable.Range(0, writers).Select(w => new Writer(w, [$"{prefix}-w{w}-0", $"{prefix}-w{w}-1"]))];
    }

    /// <summary>Every ADD sent, by tag.</summary>
    public ConcurrentDictionary<string, CrashBatch> Sent { get; } = new(StringComparer.Ordinal);

    /// <summary>The reply of every acknowledged ADD, by tag.</summary>
    public ConcurrentDictionary<string, IReadOnlyList<string>> Acked { get; } = new(StringComparer.Ordinal);

    /// <summary>ADDs answered with an error, by tag: none of their events may ever be stored.</summary>
    public ConcurrentDictionary<string, string> Rejected { get; } = new(StringComparer.Ordinal);

    /// <summary>Wrong replies seen by the writers (an error where none may come, a reply of the wrong shape): must stay empty.</summary>
    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>Set while the server stops gracefully: then an ADD may be refused with any error (and must not be stored).</summary>
    public bool ShuttingDown { get; set; }

    /// <summary>Events in the log at the last verification.</summary>
    public int VerifiedEvents => _verified.Count;

    /// <summary>
    /// Runs one round: every writer first sends again its ADD that was in flight at the last crash when it carries
    /// message ids (it must come back as stored when it landed, and may be written now when it did not), then sends
    /// new ADDs until <paramref name="stop"/> or until its connection dies (the server was killed).
    /// </summary>
    public async Task<CrashRound> RunAsync(ServerProcess server, string round, int seed, CancellationToken stop)
    {
        var seeds = new Random(seed);
        var tasks = _writers.Select(w =>
        {
            int writerSeed = seeds.Next();
            return Task.Run(() => WriteAsync(server, w, round, new Random(writerSeed), stop));
        }).ToList();
        var results = await Task.WhenAll(tasks);
        return new CrashRound(
            results.Sum(r => r.Acked),
            results.Sum(r => r.Rejected),
            _writers.Count(w => w.InFlight is not null),
            results.Sum(r => r.Resent),
            results.Sum(r => r.AckedBytes));
    }

    /// <summary>
    /// Reads the whole store back and checks it against what was sent:
    /// GETALL positions are 0..n-1 with increasing ids, EVENTCOUNT, STREAMCOUNT and CHECKSUM (recomputed over the log)
    /// agree; every event served at the previous verification is still there unchanged; every acknowledged event is
    /// there byte for byte (id, stream, version, position, data, ...); every ADD in the log is whole (all its events,
    /// consecutive positions and versions, one added_at), was sent, was not refused, did not vanish at an earlier
    /// verification and starts at the version it asked for; every stream read by GET is versions 0..k-1 and agrees
    /// with the log, and LISTSTREAMS with both; message ids are unique per stream.
    /// </summary>
    public async Task<CrashVerification> VerifyAsync(ServerProcess server)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await using var c = await server.OpenAuthenticatedRawAsync();
        var state = await StoreState.ReadAsync(c);
        var log = await c.ReadWholeLogAsync(VerifyPage);
        long readMs = watch.ElapsedMilliseconds;
        EventAssert.WholeLog(log);
        Assert.True(state.Events == log.Count, $"EVENTCOUNT says {state.Events}, a GETALL scan finds {log.Count}");
        Assert.Equal(log.Count == 0 ? StoredEvent.ZeroUlid : log[^1].Id, state.LastId);
        ulong chain = 0;
        long bytes = 0;
        var hashes = new List<ulong>(log.Count);
        foreach (var e in log)
        {
            var utf8 = Encoding.UTF8.GetBytes(e.Raw);
            bytes += utf8.Length;
            chain = XxHash64.HashToUInt64(utf8, (long)chain);
            hashes.Add(XxHash64.HashToUInt64(utf8));
        }

        Assert.True(state.Checksum == chain.ToString("x16", CultureInfo.InvariantCulture), $"CHECKSUM says {state.Checksum}, the chain over the {log.Count} events read is {chain:x16}");

        // What was served before the crash is still served, unchanged (acknowledged or not: it was recovered once).
        Assert.True(log.Count >= _verified.Count, $"the log shrank from {_verified.Count} to {log.Count} events since the previous restart");
        for (int i = 0; i < _verified.Count; i++)
        {
            Assert.True(hashes[i] == _verified[i], $"event {i} changed since the previous restart; now: {log[i].Raw}");
        }

        var byId = new Dictionary<string, StoredEvent>(log.Count, StringComparer.Ordinal);
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
                if (!byId.TryGetValue(IdOf(raw), out var found))
                {
                    missing++;
                    if (missingExamples.Count < 5)
                    {
                        missingExamples.Add(Shorten(raw));
                    }
                }
                else
                {
                    Assert.True(found.Raw == raw, $"acknowledged event of {tag} changed:\nacked: {Shorten(raw)}\nnow:   {Shorten(found.Raw)}");
                }
            }
        }

        Assert.True(missing == 0, $"{missing} acknowledged events are missing after the restart, e.g.:\n{string.Join('\n', missingExamples)}");

        // Every ADD in the log is whole, was sent, was not refused, did not come back from the dead.
        var present = new Dictionary<string, List<StoredEvent>>(StringComparer.Ordinal);
        foreach (var e in log)
        {
            if (!present.TryGetValue(e.Type, out var list))
            {
                present[e.Type] = list = [];
            }

            list.Add(e);
        }

        foreach (var (tag, events) in present)
        {
            Assert.True(Sent.TryGetValue(tag, out var sent), $"the log holds events of type {tag}, which no ADD sent: {Shorten(events[0].Raw)}");
            Assert.False(Rejected.TryGetValue(tag, out var error), $"ADD {tag} was answered '{error}', yet its events are in the log: {Shorten(events[0].Raw)}");
            Assert.False(_gone.ContainsKey(tag), $"ADD {tag} was not in the log at an earlier restart and was never acknowledged, yet its events are there now: {Shorten(events[0].Raw)}");
            Assert.True(events.Count == sent!.Size, $"ADD {tag} had {sent.Size} events, the log holds {events.Count} of them (acknowledged: {Acked.ContainsKey(tag)}): first {Shorten(events[0].Raw)}");
            EventAssert.OneAdd(events, sent.Stream, sent.FirstVersion);
            if (sent.Version == "exists")
            {
                Assert.True(events[0].Version > 0, $"ADD {tag} asked for an existing stream, yet starts it: {Shorten(events[0].Raw)}");
            }

            for (int i = 0; i < events.Count; i++)
            {
                Assert.Equal(sent.WithMessageIds ? $"{tag}-m{i}" : null, events[i].MessageId);
            }

            if (Acked.TryGetValue(tag, out var acked))
            {
                Assert.True(acked.SequenceEqual(events.Select(e => e.Raw)), $"ADD {tag} is stored differently from its reply");
            }
        }

        long checkMs = watch.ElapsedMilliseconds;

        // Streams read by GET and listed by LISTSTREAMS agree with the log.
        var streams = log.GroupBy(e => e.Stream).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        Assert.Equal(state.Streams, streams.Count);
        foreach (var (stream, expected) in streams)
        {
            // Versions 0..k-1 in log order; GET (served through the index) returns exactly those events.
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.True(expected[i].Version == i, $"stream {stream}: its event {i} in log order has version {expected[i].Version}: {Shorten(expected[i].Raw)}");
            }

            var read = await ReadStreamRawAsync(c, stream);
            Assert.True(read.Count == expected.Count, $"GET {stream} returns {read.Count} events, GETALL holds {expected.Count} of it");
            for (int i = 0; i < read.Count; i++)
            {
                Assert.True(read[i] == expected[i].Raw, $"GET {stream} disagrees with GETALL at version {i}:\nGET:    {Shorten(read[i])}\nGETALL: {Shorten(expected[i].Raw)}");
            }

            var ids = expected.Where(e => e.MessageId is not null).Select(e => e.MessageId!).ToList();
            Assert.True(ids.Count == ids.Distinct(StringComparer.Ordinal).Count(), $"a message id is stored twice in {stream}");
        }

        var summaries = (await c.ListAllStreamsAsync()).Select(s => JsonDocument.Parse(s).RootElement).ToList();
        Assert.Equal(streams.Count, summaries.Count);
        foreach (var summary in summaries)
        {
            string name = summary.GetProperty("stream").GetString()!;
            Assert.True(streams.TryGetValue(name, out var events), $"LISTSTREAMS lists {summary.GetRawText()}, which GETALL does not have");
            Assert.True(summary.GetProperty("events").GetInt64() == events!.Count, $"LISTSTREAMS says {summary.GetRawText()}, the log holds {events.Count} events of it");
            Assert.Equal(events.Count - 1, summary.GetProperty("version").GetInt64());
        }

        long streamsMs = watch.ElapsedMilliseconds;

        // Remember what the next verification and the next round build on.
        int inFlightPresent = 0;
        int inFlightAbsent = 0;
        var presentInFlight = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var w in _writers)
        {
            if (w.InFlight is { } batch)
            {
                if (present.TryGetValue(batch.Tag, out var events))
                {
                    presentInFlight[batch.Tag] = [.. events.Select(e => e.Raw)];
                    inFlightPresent++;
                }
                else
                {
                    inFlightAbsent++;
                }
            }
        }

        foreach (var tag in Sent.Keys)
        {
            if (!present.ContainsKey(tag) && !Acked.ContainsKey(tag))
            {
                _gone.TryAdd(tag, 0);
            }
        }

        _presentInFlight = presentInFlight;
        _verified = hashes;
        _counts = streams.ToDictionary(s => s.Key, s => (long)s.Value.Count, StringComparer.Ordinal);
        foreach (var w in _writers)
        {
            w.Known.Clear();
            foreach (var (stream, count) in _counts)
            {
                w.Known[stream] = count;
            }
        }

        return new CrashVerification(log.Count, bytes, streams.Count, inFlightPresent, inFlightAbsent, $"GETALL {readMs} ms, checks {checkMs - readMs} ms, GET {streamsMs - checkMs} ms");
    }

    /// <summary>The id of a stored event's JSON, which always starts with it (<c>{"id":"&lt;26 characters&gt;"</c>).</summary>
    private static string IdOf(string raw)
    {
        const string Start = "{\"id\":\"";
        Assert.True(raw.StartsWith(Start, StringComparison.Ordinal) && raw.Length > Start.Length + 26, $"an event that does not start with its id: {Shorten(raw)}");
        return raw.Substring(Start.Length, 26);
    }

    /// <summary>A whole stream by GET, page by page, as the raw JSON strings (the log read checks each event's form).</summary>
    private static async Task<List<string>> ReadStreamRawAsync(RespConnection c, string stream)
    {
        var all = new List<string>();
        while (true)
        {
            var reply = await c.CommandAsync("GET", stream, all.Count.ToString(CultureInfo.InvariantCulture), VerifyPage.ToString(CultureInfo.InvariantCulture));
            Assert.False(reply.IsError(), $"GET {stream} {all.Count} failed: {RespText.Describe(reply)}");
            var page = reply.Strings();
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
        }
    }

    private static string Shorten(string raw) => raw.Length <= 600 ? raw : $"{raw[..500]}... ({raw.Length} chars)";

    private async Task<(int Acked, int Rejected, int Resent, long AckedBytes)> WriteAsync(ServerProcess server, Writer writer, string round, Random random, CancellationToken stop)
    {
        int acked = 0;
        int rejected = 0;
        int resent = 0;
        long ackedBytes = 0;
        RespConnection c;
        try
        {
            c = await server.OpenAuthenticatedRawAsync();
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or InvalidOperationException)
        {
            return (0, 0, 0, 0);
        }

        await using (c)
        {
            // The ADD in flight at the last crash, sent again when it is idempotent.
            var batch = writer.InFlight;
            bool resend = batch is { WithMessageIds: true };
            if (!resend)
            {
                writer.InFlight = null;
            }

            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                if (!resend)
                {
                    batch = NewBatch(writer, $"{_prefix}{round}w{writer.Number}n{n}", random);
                    Sent[batch.Tag] = batch;
                    writer.InFlight = batch;
                }
                else
                {
                    _gone.TryRemove(batch!.Tag, out _);
                    resent++;
                }

                RespValue reply;
                try
                {
                    reply = await c.CommandAsync(batch!.Request);
                }
                catch (Exception e) when (e is SocketException or IOException or TimeoutException or ObjectDisposedException)
                {
                    break;
                }

                writer.InFlight = null;
                var outcome = Record(writer, batch, reply, resend);
                resend = false;
                if (outcome is { } stored)
                {
                    acked++;
                    ackedBytes += stored;
                }
                else
                {
                    rejected++;
                }
            }
        }

        return (acked, rejected, resent, ackedBytes);
    }

    /// <summary>Records the reply to <paramref name="batch"/>; returns the bytes stored when it was acknowledged, null when it was refused.</summary>
    private long? Record(Writer writer, CrashBatch batch, RespValue reply, bool resend)
    {
        bool landedBefore = _presentInFlight.TryGetValue(batch.Tag, out var stored);
        if (reply.IsError())
        {
            Rejected[batch.Tag] = reply.Text ?? "";
            bool allowed = ShuttingDown || (!batch.Owned && !landedBefore && (reply.Text ?? "").StartsWith("WRONGVERSION", StringComparison.Ordinal));
            if (!allowed)
            {
                Problems.Enqueue($"{batch.Tag} ({batch.Stream}, version {batch.Version}{(resend ? ", sent again after a crash" : "")}{(landedBefore ? ", stored before the crash" : "")}): refused with '{reply.Text}'");
            }

            return null;
        }

        if (reply.Type != RespType.Array || reply.Items.Count != batch.Size)
        {
            Problems.Enqueue($"{batch.Tag}: unexpected reply {Shorten(RespText.Describe(reply))}");
            return null;
        }

        var raws = reply.Strings();
        try
        {
            var events = StoredEvent.ParseAll(raws);
            EventAssert.OneAdd(events, batch.Stream, batch.FirstVersion);
            Assert.All(events, e => Assert.Equal(batch.Tag, e.Type));
            if (landedBefore)
            {
                Assert.True(stored!.SequenceEqual(raws), $"sent again after a crash, {batch.Tag} came back different from what the log held");
            }

            writer.Known[batch.Stream] = events[^1].Version + 1;
            if (batch.Version == "no_stream" && !writer.Owned.Contains(batch.Stream))
            {
                writer.Owned.Add(batch.Stream);
            }
        }
        catch (Xunit.Sdk.XunitException e)
        {
            Problems.Enqueue($"{batch.Tag}: bad reply: {e.Message}");
        }

        Acked[batch.Tag] = raws;
        return raws.Sum(r => (long)r.Length);
    }

    private CrashBatch NewBatch(Writer writer, string tag, Random random)
    {
        string stream;
        string version;
        bool owned;
        double kind = random.NextDouble();
        if (kind < 0.45)
        {
            owned = true;
            stream = writer.Owned[random.Next(writer.Owned.Count)];
            long known = writer.Known.GetValueOrDefault(stream);
            double v = random.NextDouble();
            version = v < 0.1 ? "any" : v < 0.2 && known > 0 ? "exists" : known == 0 && v < 0.3 ? "no_stream" : known.ToString(CultureInfo.InvariantCulture);
        }
        else if (kind < 0.95 || writer.Owned.Count >= OwnedStreamsPerWriter)
        {
            owned = false;
            stream = _shared[random.Next(_shared.Length)];
            double v = random.NextDouble();
            version = v < 0.7 ? "any" : v < 0.8 ? "exists" : writer.Known.GetValueOrDefault(stream).ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            // A new stream: the writer owns it once the ADD is acknowledged.
            owned = true;
            stream = random.Next(2) == 0 ? Guid.NewGuid().ToString() : $"{_prefix}-{tag}-new";
            version = "no_stream";
        }

        int size = random.Next(2) == 0 ? 1 : random.Next(2, 13);
        bool withIds = random.Next(3) == 0;
        int large = random.NextDouble() < _largeShare ? random.Next(64 * 1024, (3 * 1024 * 1024 / 2) + 1) : 0;
        int largeIndex = random.Next(size);
        string[] request;
        if (withIds || random.Next(4) == 0)
        {
            var events = new JsonArray();
            for (int i = 0; i < size; i++)
            {
                var e = new JsonObject { ["type"] = tag };
                e["data"] = i == largeIndex && large > 0 ? Large(tag, i, large, random)
                    : random.Next(4) == 0 ? JsonValue.Create($"plain {tag} {i}")
                    : new JsonObject { ["tag"] = tag, ["i"] = i, ["pad"] = new string('j', random.Next(0, 300)) };
                if (withIds)
                {
                    e["metadata"] = i % 2 == 0 ? JsonValue.Create("meta") : new JsonObject { ["i"] = i };
                    e["message_id"] = $"{tag}-m{i}";
                }

                events.Add(e);
            }

            JsonNode versionNode = long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out long number) ? JsonValue.Create(number) : JsonValue.Create(version);
            request = ["ADD", new JsonObject { ["stream"] = stream, ["version"] = versionNode, ["events"] = events }.ToJsonString()];
        }
        else
        {
            var args = new List<string> { "ADD", stream, version };
            for (int i = 0; i < size; i++)
            {
                args.Add(tag);
                args.Add(i == largeIndex && large > 0 ? Large(tag, i, large, random).ToJsonString()
                    : i % 3 == 2 ? $"plain string {tag} {i}"
                    : $$"""{"tag":"{{tag}}","i":{{i}},"pad":"{{new string('p', random.Next(0, 300))}}"}""");
            }

            request = [.. args];
        }

        return new CrashBatch(tag, stream, size, version, withIds, large, owned, request);
    }

    private static JsonObject Large(string tag, int i, int bytes, Random random)
    {
        const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        var pattern = new char[61];
        for (int k = 0; k < pattern.Length; k++)
        {
            pattern[k] = Letters[random.Next(Letters.Length)];
        }

        var big = new StringBuilder(bytes + pattern.Length);
        while (big.Length < bytes)
        {
            big.Append(pattern);
        }

        big.Length = bytes;
        return new JsonObject { ["tag"] = tag, ["i"] = i, ["big"] = big.ToString() };
    }

    /// <summary>One writer's streams and its ADD in flight (kept across rounds).</summary>
    private sealed class Writer(int number, List<string> owned)
    {
        public int Number { get; } = number;

        /// <summary>Streams only this writer writes to, with exact expected versions.</summary>
        public List<string> Owned { get; } = owned;

        /// <summary>Event count of streams as this writer knows it (from the last verification and its own ADDs).</summary>
        public Dictionary<string, long> Known { get; } = new(StringComparer.Ordinal);

        /// <summary>The ADD sent whose reply has not arrived (the connection died): after a crash it may or may not be stored.</summary>
        public CrashBatch? InFlight { get; set; }
    }
}
