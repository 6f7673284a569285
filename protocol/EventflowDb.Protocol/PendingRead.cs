namespace EventflowDb.Protocol;

/// <summary>
/// What an incomplete read learned about the bytes from <see cref="Start"/>, so the next read of the same
/// bytes (plus new ones) can return at once until enough have arrived, and resume copying where it stopped.
/// </summary>
/// <param name="Start">Where the incomplete read's buffer started.</param>
/// <param name="SkippedBytes">Empty requests (blank lines, *0, *-1) at the start, already skipped.</param>
/// <param name="TotalBytesNeeded">Lower bound on the buffer length the next request needs, from <see cref="Start"/>.</param>
/// <param name="CopiedBytes">Bytes of the next request already copied into the scratch buffer.</param>
/// <param name="IsSet">False for the default (nothing pending).</param>
internal readonly record struct PendingRead(SequencePosition Start, long SkippedBytes, long TotalBytesNeeded, int CopiedBytes, bool IsSet);
