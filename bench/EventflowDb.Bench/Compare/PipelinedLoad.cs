using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Compare;

/// <summary>Loads a server before a measurement: requests spread over connections, each keeping a fixed number in flight.</summary>
internal static class PipelinedLoad
{
    /// <summary>
    /// Sends requests 0 to <paramref name="count"/>−1 (built by <paramref name="request"/>), request i on connection
    /// i mod <paramref name="connections"/>, <paramref name="depth"/> pipelined at a time; throws when any reply is an error.
    /// </summary>
    public static void Run(int port, int connections, int depth, int count, Func<int, string[]> request)
    {
        var threads = Enumerable.Range(0, connections).Select(c => new Thread(() =>
        {
            using var connection = new RespConnection(port);
            var pipeline = new List<byte>();
            int inFlight = 0;
            for (int i = c; i < count; i += connections)
            {
                pipeline.AddRange(RespCommand.Encode(request(i)));
                if (++inFlight == depth)
                {
                    connection.Call([.. pipeline], inFlight);
                    pipeline.Clear();
                    inFlight = 0;
                }
            }

            if (inFlight > 0)
            {
                connection.Call([.. pipeline], inFlight);
            }

            if (connection.Errors > 0)
            {
                throw new InvalidOperationException($"loading: {connection.Errors} error replies, last: {connection.LastError}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }
}
