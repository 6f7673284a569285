using System.Globalization;
using EventflowDb.Client;
using EventflowDb.Tests.Harness;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests.Support;

/// <summary>Connection strings and clients for a real server.</summary>
public static class Connect
{
    /// <summary>
    /// The StackExchange.Redis connection string of <paramref name="server"/>: its loopback port, its password, generous
    /// time-outs (a loaded 2-core machine must not turn into flaky tests), plus <paramref name="extra"/> options.
    /// </summary>
    public static string ConnectionString(ServerProcess server, string? extra = null, bool withPassword = true)
    {
        string s = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{server.Port},connectTimeout=15000,asyncTimeout=30000,syncTimeout=30000");
        if (withPassword && server.Password is not null)
        {
            s += ",password=" + server.Password;
        }

        return extra is null ? s : s + "," + extra;
    }

    /// <summary>
    /// A client of <paramref name="server"/>. It reconnects every 200 ms while the server is down (StackExchange.Redis
    /// backs off from half the connect time-out by default), so that restart tests do not wait for nothing.
    /// </summary>
    public static Task<EventflowDbClient> ClientAsync(ServerProcess server, string? extra = null, EventflowDbClientOptions? options = null)
    {
        var configuration = ConfigurationOptions.Parse(ConnectionString(server, extra));
        configuration.ReconnectRetryPolicy = new LinearRetry(200);
        return EventflowDbClient.ConnectAsync(configuration, options);
    }

    /// <summary>Waits until the client's connection has sent a command and awaits its reply (the command is in flight).</summary>
    public static async Task UntilInFlightAsync(EventflowDbClient client)
    {
        var server = client.Multiplexer.GetServer(client.Multiplexer.GetEndPoints().Single());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (server.GetCounters().Interactive.SentItemsAwaitingResponse == 0)
        {
            await Task.Delay(10, cts.Token);
        }
    }
}

/// <summary>One real server shared by the tests of a class, with one client.</summary>
public class ClientFixture : IAsyncLifetime
{
    private ServerProcess? _server;
    private EventflowDbClient? _client;

    /// <summary>The server.</summary>
    public ServerProcess Server => _server ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>A connected client.</summary>
    public EventflowDbClient Client => _client ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>Settings of the shared server.</summary>
    protected virtual ServerSettings Settings => new();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(Settings);
        _client = await Connect.ClientAsync(_server);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A shared server that serves at most 5 events per reply (<c>--max-page 5</c>), so every read pages.</summary>
public sealed class SmallPageClientFixture : ClientFixture
{
    /// <summary>The server's maximum page.</summary>
    public const int MaxPage = 5;

    /// <inheritdoc />
    protected override ServerSettings Settings => new() { ExtraArgs = ["--max-page", "5"] };
}

/// <summary>A shared server with a password.</summary>
public sealed class PasswordClientFixture : ClientFixture
{
    /// <summary>The password.</summary>
    public const string Password = "client-pw-7Qx";

    /// <inheritdoc />
    protected override ServerSettings Settings => new() { Password = Password };
}

/// <summary>Base of the test classes that share a server and a client through <typeparamref name="TFixture"/>.</summary>
public abstract class ClientTest<TFixture> : IntegrationTest
    where TFixture : ClientFixture
{
    /// <summary>Creates the test.</summary>
    protected ClientTest(TFixture fixture, ITestOutputHelper output)
        : base(output)
    {
        Fixture = fixture;
        Track(fixture.Server);
    }

    /// <summary>The fixture.</summary>
    protected TFixture Fixture { get; }

    /// <summary>The shared server.</summary>
    protected ServerProcess Server => Fixture.Server;

    /// <summary>The shared client.</summary>
    protected EventflowDbClient Client => Fixture.Client;

    /// <summary><paramref name="count"/> events of type <paramref name="type"/> with data <c>{"n":i}</c>.</summary>
    protected static List<EventData> Numbered(int count, string type = "Numbered", int first = 0) =>
        [.. Enumerable.Range(first, count).Select(i => EventData.FromJson(type, $$"""{"n":{{i}}}"""))];
}

/// <summary>Sends signals to the server process (SIGSTOP freezes it so that a command stays in flight).</summary>
public static partial class Signals
{
    /// <summary>Freezes the process and waits until the kernel reports it stopped (signal delivery is asynchronous).</summary>
    public static void Stop(ServerProcess server)
    {
        Send(server.ProcessId, 19);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!IsStopped(server.ProcessId))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"process {server.ProcessId} did not stop after SIGSTOP");
            }

            Thread.Sleep(5);
        }
    }

    /// <summary>State field of /proc/PID/stat (after the parenthesised command name): T when stopped by a signal.</summary>
    private static bool IsStopped(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
    }

    /// <summary>Resumes a frozen process.</summary>
    public static void Continue(ServerProcess server) => Send(server.ProcessId, 18);

    private static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
