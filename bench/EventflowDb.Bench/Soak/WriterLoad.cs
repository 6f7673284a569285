using System.Globalization;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// A writer: ADD batches of 1–20 events to its own 200 streams at a paced rate. Of every ten batches, five carry the
/// stream's exact expected version, one <c>any</c>, two carry message ids (JSON form), one repeats the last batch with
/// message ids (answered with the events stored the first time) and one sends a stale expected version on purpose
/// (refused with WRONGVERSION).
/// </summary>
internal sealed class WriterLoad(int index, double eventsPerSecond, int port, SoakCounters counters)
    : LoadWorker($"writer {index}", port, counters)
{
    private const int Streams = 200;
    private const string Pad = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly long[] _versions = new long[Streams];
    private readonly Random _random = new(index);
    private long _sequence;
    private (byte[] Request, string? FirstId)? _lastIdempotent;

    protected override void RunSession(CancellationToken token)
    {
        using var connection = new SoakConnection(Port);
        // A new session after a failure may have missed acknowledgements: start each stream from what the server holds.
        LoadVersions(connection);
        var pacer = new Pacer(eventsPerSecond);
        while (!token.IsCancellationRequested)
        {
            long seq = ++_sequence;
            int k = _random.Next(Streams);
            int batch = _random.Next(1, 21);
            if (!pacer.Wait(batch, token))
            {
                break;
            }

            string stream = StreamName(k);
            switch (seq % 10)
            {
                case 5:
                    Append(connection, k, Positional(stream, "any", batch, seq), batch);
                    break;
                case 6 or 7:
                    {
                        var request = WithMessageIds(stream, _versions[k], batch, seq);
                        string? firstId = Append(connection, k, request, batch);
                        _lastIdempotent = (request, firstId);
                        break;
                    }

                case 8 when _lastIdempotent is { } last:
                    Repeat(connection, last.Request, last.FirstId);
                    break;
                case 9:
                    Stale(connection, stream, k, seq);
                    break;
                default:
                    Append(connection, k, Positional(stream, _versions[k].ToString(CultureInfo.InvariantCulture), batch, seq), batch);
                    break;
            }
        }
    }

    private string StreamName(int k) => string.Create(CultureInfo.InvariantCulture, $"soak-w{index}-{k}");

    private string? Append(SoakConnection connection, int k, byte[] request, int batch)
    {
        var reply = connection.Call(request);
        Counters.Add(Counter.AddBatches);
        if (reply.Kind != ReplyKind.Array || reply.Count != batch)
        {
            Unexpected("ADD", reply);
            LoadVersions(connection);
            return null;
        }

        _versions[k] += batch;
        Counters.Add(Counter.EventsWritten, batch);
        return reply.LastEventId;
    }

    private void Repeat(SoakConnection connection, byte[] request, string? firstId)
    {
        var reply = connection.Call(request);
        Counters.Add(Counter.AddBatches);
        if (reply.Kind == ReplyKind.Array && reply.LastEventId == firstId)
        {
            Counters.Add(Counter.Duplicates);
        }
        else
        {
            Unexpected("repeated ADD with message ids", reply.IsError ? reply : reply with { Text = $"answered with other events (last id {reply.LastEventId}, first time {firstId})" });
        }
    }

    private void Stale(SoakConnection connection, string stream, int k, long seq)
    {
        long stale = _versions[k] > 0 ? _versions[k] - 1 : _versions[k] + 5;
        var reply = connection.Call(Positional(stream, stale.ToString(CultureInfo.InvariantCulture), 1, seq));
        Counters.Add(Counter.AddBatches);
        if (reply.IsError && reply.Text!.StartsWith("WRONGVERSION", StringComparison.Ordinal))
        {
            Counters.Add(Counter.WrongVersions);
        }
        else
        {
            Unexpected("ADD with a stale version", reply);
            LoadVersions(connection);
        }
    }

    /// <summary>Reads each stream's event count back (after a reconnect or a surprise).</summary>
    private void LoadVersions(SoakConnection connection)
    {
        for (int k = 0; k < Streams; k++)
        {
            long version = 0;
            while (true)
            {
                var page = connection.Call(RespCommand.Encode("GET", StreamName(k), version.ToString(CultureInfo.InvariantCulture), "10000"));
                if (page.Kind != ReplyKind.Array || page.Count <= 0)
                {
                    break;
                }

                version += page.Count;
            }

            _versions[k] = version;
        }
    }

    private static string Data(long seq, int i) => string.Create(CultureInfo.InvariantCulture, $"{{\"n\":{seq},\"i\":{i},\"pad\":\"{Pad}\"}}");

    private static byte[] Positional(string stream, string version, int batch, long seq)
    {
        var args = new List<string>(3 + (2 * batch)) { "ADD", stream, version };
        for (int i = 0; i < batch; i++)
        {
            args.Add(i % 3 == 0 ? "Opened" : "Changed");
            args.Add(Data(seq, i));
        }

        return RespCommand.Encode([.. args]);
    }

    private byte[] WithMessageIds(string stream, long version, int batch, long seq)
    {
        var events = Enumerable.Range(0, batch).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"type\":\"Keyed\",\"data\":{Data(seq, i)},\"message_id\":\"m-{index}-{seq}-{i}\"}}"));
        string json = string.Create(CultureInfo.InvariantCulture, $"{{\"stream\":\"{stream}\",\"version\":{version},\"events\":[{string.Join(',', events)}]}}");
        return RespCommand.Encode("ADD", json);
    }
}
