namespace EventflowDb.Storage;

/// <summary>
/// Wakes one consumer loop (the committer). Producers call <see cref="Set"/> after queueing work; only
/// the first call after the consumer woke touches the semaphore, so a busy loop costs its producers one
/// interlocked exchange instead of a lock per item.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "SemaphoreSlim only needs disposing once its AvailableWaitHandle was used, which this never does.")]
internal sealed class WakeSignal
{
    private readonly SemaphoreSlim _wake = new(0);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _set;

    /// <summary>True once <see cref="Complete"/> was called.</summary>
    public bool IsCompleted => _completed.Task.IsCompleted;

    /// <summary>Completes when <see cref="Complete"/> is called.</summary>
    public Task Completion => _completed.Task;

    /// <summary>Wakes the consumer, unless a wake-up is already pending.</summary>
    public void Set()
    {
        if (Interlocked.Exchange(ref _set, 1) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Tells the consumer to finish: it wakes, drains and sees <see cref="IsCompleted"/>.</summary>
    public void Complete()
    {
        _completed.TrySetResult();
        Set();
    }

    /// <summary>
    /// Waits for a wake-up and re-arms the signal. Work queued before a later <see cref="Set"/> is seen by the
    /// drain that follows this call, so nothing is left behind.
    /// </summary>
    public async ValueTask WaitAsync()
    {
        await _wake.WaitAsync().ConfigureAwait(false);

        // A full fence: the drain after this must not read the queue before the re-arm is visible.
        Interlocked.Exchange(ref _set, 0);
    }
}
