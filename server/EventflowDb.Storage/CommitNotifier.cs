namespace EventflowDb.Storage;

/// <summary>
/// Lets code wait for the committed log to move past a point without polling. This is the hook for
/// long-poll reads and subscriptions: wait, then read from the position you had.
/// </summary>
internal sealed class CommitNotifier
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once anything is committed after this call (or at once when <paramref name="isReady"/> already holds).</summary>
    public Task WaitAsync(Func<bool> isReady, CancellationToken cancellationToken)
    {
        var next = Volatile.Read(ref _next);
        return isReady() ? Task.CompletedTask : next.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Wakes every waiter (committer, after publishing a batch).</summary>
    public void Publish()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
