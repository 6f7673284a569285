using System.Net.Sockets;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// One kind of load on its own thread: runs <see cref="RunSession"/> (one connection's life) again and again until the
/// run ends; a session that fails is counted under <see cref="Counter.LoadErrors"/> with its reason, and a new one starts.
/// </summary>
internal abstract class LoadWorker(string name, int port, SoakCounters counters)
{
    private Thread? _thread;

    public string Name { get; } = name;

    protected int Port { get; } = port;

    protected SoakCounters Counters { get; } = counters;

    public void Start(CancellationToken token)
    {
        _thread = new Thread(() => Loop(token)) { IsBackground = true, Name = Name };
        _thread.Start();
    }

    /// <summary>Waits for the thread to finish (its socket calls time out after at most 30 s).</summary>
    public bool Join(TimeSpan timeout) => _thread?.Join(timeout) ?? true;

    /// <summary>Opens a connection and loads the server until <paramref name="token"/> is cancelled or the connection fails.</summary>
    protected abstract void RunSession(CancellationToken token);

    /// <summary>Counts an error reply a good request should not have got.</summary>
    protected void Unexpected(string what, Reply reply) => Counters.Unexpected(Counter.LoadErrors, $"{Name}: {what}", reply.Text ?? reply.Kind.ToString());

    private void Loop(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                RunSession(token);
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException or ObjectDisposedException)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                Counters.Unexpected(Counter.LoadErrors, $"{Name}: connection failed", $"{e.GetType().Name}: {e.Message}");
                token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500));
            }
        }
    }
}
