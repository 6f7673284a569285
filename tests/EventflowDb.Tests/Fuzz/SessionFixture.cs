using EventflowDb.Fuzz;

namespace EventflowDb.Tests.Fuzz;

/// <summary>One store in a temporary directory for a test class's sessions, as the fuzz harness keeps one per run.</summary>
public sealed class SessionFixture : IAsyncLifetime
{
    private SessionTarget? _target;

    /// <summary>A session that does not end within this after its input ended fails the test (the harness's hang).</summary>
    public static readonly TimeSpan SessionBound = TimeSpan.FromSeconds(10);

    internal SessionTarget Target => _target ?? throw new InvalidOperationException("not initialized");

    // 3 s before a still-running session is asked to stop: on a loaded CI machine an ADD's fsync has taken over a second,
    // and a stop then drops the requests not read yet. Only inputs that block (BLOCK, subscriptions) wait this long.
    public async Task InitializeAsync() => _target = await SessionTarget.CreateAsync(Path.GetTempPath(), grace: TimeSpan.FromSeconds(3));

    public async Task DisposeAsync()
    {
        if (_target is not null)
        {
            await _target.DisposeAsync();
        }
    }

    /// <summary>Runs one input through a new session, bounded; throws on a finding, a hang or an escaped exception.</summary>
    internal async Task<SessionResult> RunAsync(byte[] input)
    {
        try
        {
            return await Target.RunAsync(input).WaitAsync(SessionBound);
        }
        catch (TimeoutException)
        {
            throw new FuzzFindingException($"the session did not end within {SessionBound.TotalSeconds} s of its input ending");
        }
    }
}
