namespace EventflowDb.Client;

/// <summary>A summary of one stream, as listed by <see cref="EventflowDbClient.ListStreamsAsync"/>.</summary>
/// <param name="Stream">The stream name.</param>
/// <param name="LastVersion">The version of the stream's last event (<see cref="EventCount"/> − 1).</param>
/// <param name="EventCount">The number of events in the stream; <c>ExpectedVersion.Exact(EventCount)</c> appends after its last event.</param>
/// <param name="CreatedAt">When the stream's first event was stored.</param>
/// <param name="UpdatedAt">When the stream's last event was stored.</param>
public sealed record StreamInfo(string Stream, long LastVersion, long EventCount, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
