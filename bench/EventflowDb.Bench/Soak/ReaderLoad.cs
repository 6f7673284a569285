using System.Globalization;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// A reader, 20 requests a second: pages through the whole log with <c>GETALL &lt;last id&gt; 500</c> (from the start
/// again once at the end), reads writers' streams with <c>GET &lt;stream&gt; &lt;version&gt; 100</c>, lists streams, and
/// now and then long-polls past a stream's end with <c>BLOCK 100</c>.
/// </summary>
internal sealed class ReaderLoad(int index, int writers, int port, SoakCounters counters)
    : LoadWorker($"reader {index}", port, counters)
{
    private const string FromStart = "00000000000000000000000000";
    private const double RequestsPerSecond = 20;
    private readonly Random _random = new(1000 + index);
    private string _cursor = FromStart;

    protected override void RunSession(CancellationToken token)
    {
        using var connection = new SoakConnection(Port);
        var pacer = new Pacer(RequestsPerSecond);
        for (long i = 0; pacer.Wait(1, token); i++)
        {
            string stream = string.Create(CultureInfo.InvariantCulture, $"soak-w{_random.Next(writers)}-{_random.Next(200)}");
            switch (i % 8)
            {
                case 0 or 2 or 4:
                    {
                        var page = connection.Call(RespCommand.Encode("GETALL", _cursor, "500"));
                        Check("GETALL", page);
                        _cursor = page.Count < 500 ? FromStart : page.LastEventId ?? FromStart;
                        break;
                    }

                case 6:
                    Check("LISTSTREAMS", connection.Call(RespCommand.Encode("LISTSTREAMS", _random.Next(500).ToString(CultureInfo.InvariantCulture), "100")));
                    break;
                case 7:
                    Check("GET ... BLOCK", connection.Call(RespCommand.Encode("GET", stream, "100000000", "10", "BLOCK", "100")));
                    break;
                default:
                    Check("GET", connection.Call(RespCommand.Encode("GET", stream, _random.Next(50).ToString(CultureInfo.InvariantCulture), "100")));
                    break;
            }
        }
    }

    private void Check(string what, Reply reply)
    {
        Counters.Add(Counter.Reads);
        if (reply.Kind != ReplyKind.Array)
        {
            Unexpected(what, reply);
        }
    }
}
