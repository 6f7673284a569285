namespace EventflowDb.Bench.Compare;

/// <summary>A scenario measured on both servers.</summary>
internal sealed record ScenarioResult(string Name, string EventflowCommand, string RedisCommand, LoadResult Eventflow, LoadResult Redis, string Target, double TargetRatio, double? TargetEventsPerSecond, IReadOnlyList<LoadResult> EventflowRuns, IReadOnlyList<LoadResult> RedisRuns)
{
    /// <summary>EventflowDB throughput over Redis throughput (events per second).</summary>
    public double Ratio => Redis.EventsPerSecond > 0 ? Eventflow.EventsPerSecond / Redis.EventsPerSecond : double.NaN;

    public bool TargetMet => TargetEventsPerSecond is { } events ? Eventflow.EventsPerSecond >= events : Ratio >= TargetRatio;
}
