using StackExchange.Redis;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Harness;

/// <summary>One real server shared by the tests of a class (tests use unique stream names), with one StackExchange.Redis connection.</summary>
public class ServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;
    private ConnectionMultiplexer? _redis;

    /// <summary>The server.</summary>
    public ServerProcess Server => _server ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>A connected multiplexer.</summary>
    public ConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>Database 0.</summary>
    public IDatabase Db => Redis.GetDatabase();

    /// <summary>Settings of the shared server.</summary>
    protected virtual ServerSettings Settings => new();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(Settings);
        _redis = await _server.ConnectAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A shared server with <c>--password</c>.</summary>
public sealed class PasswordServerFixture : ServerFixture
{
    /// <summary>The password.</summary>
    public const string Password = "pw-Zk81";

    /// <inheritdoc />
    protected override ServerSettings Settings => new() { Password = Password };
}

/// <summary>A shared server with <c>--max-page 5</c>.</summary>
public sealed class MaxPageServerFixture : ServerFixture
{
    /// <inheritdoc />
    protected override ServerSettings Settings => new() { ExtraArgs = ["--max-page", "5"] };
}

/// <summary>
/// Base of every test class: unique names, servers started per test, and the server output of the test
/// written to the test's output (shown by the runner for failing tests).
/// </summary>
public abstract class IntegrationTest : IAsyncLifetime
{
    private readonly List<(ServerProcess Server, int Mark)> _servers = [];
    private readonly List<ServerProcess> _owned = [];

    /// <summary>Creates the test.</summary>
    protected IntegrationTest(ITestOutputHelper output) => TestOutput = output;

    /// <summary>The test's output.</summary>
    protected ITestOutputHelper TestOutput { get; }

    /// <summary>A name nobody else uses.</summary>
    protected static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Starts a server for this test; it is disposed (killed, its temp data deleted) with the test.</summary>
    protected async Task<ServerProcess> StartServerAsync(ServerSettings? settings = null)
    {
        var server = await ServerProcess.StartAsync(settings ?? new ServerSettings());
        Track(server, 0, owned: true);
        return server;
    }

    /// <summary>Starts a server with extra arguments.</summary>
    protected Task<ServerProcess> StartServerAsync(params string[] extraArgs) => StartServerAsync(new ServerSettings { ExtraArgs = extraArgs });

    /// <summary>Includes the output that <paramref name="server"/> prints from now on in this test's output.</summary>
    protected void Track(ServerProcess server, int? mark = null, bool owned = false)
    {
        _servers.Add((server, mark ?? server.Output.Length));
        if (owned)
        {
            _owned.Add(server);
        }
    }

    /// <inheritdoc />
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var server in _owned)
        {
            await server.DisposeAsync();
        }

        foreach (var (server, mark) in _servers)
        {
            string output = server.Output;
            string part = mark <= output.Length ? output[mark..] : output;
            if (part.Length > 200_000)
            {
                part = "...\n" + part[^200_000..];
            }

            TestOutput.WriteLine($"==== output of {server} ====\n{part}");
        }
    }
}

/// <summary>Base of test classes sharing one server through a fixture.</summary>
public abstract class SharedServerTest<TFixture> : IntegrationTest
    where TFixture : ServerFixture
{
    /// <summary>Creates the test.</summary>
    protected SharedServerTest(TFixture fixture, ITestOutputHelper output)
        : base(output)
    {
        Fixture = fixture;
        Track(fixture.Server);
    }

    /// <summary>The fixture.</summary>
    protected TFixture Fixture { get; }

    /// <summary>The shared server.</summary>
    protected ServerProcess Server => Fixture.Server;

    /// <summary>The shared StackExchange.Redis database.</summary>
    protected IDatabase Db => Fixture.Db;
}

/// <summary>A shared server with <c>--password</c>, for the ACL tests (they create their own users).</summary>
public sealed class AclServerFixture : ServerFixture
{
    /// <summary>The password of the user default.</summary>
    public const string Password = "acl-admin-pw";

    /// <inheritdoc />
    protected override ServerSettings Settings => new() { Password = Password };
}
