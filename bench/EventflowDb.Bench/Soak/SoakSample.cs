namespace EventflowDb.Bench.Soak;

/// <summary>One second's look at the server: memory, threads, connections, events stored, and the load's running totals.</summary>
/// <param name="Seconds">Since the load started.</param>
/// <param name="ResidentBytes">VmRSS; -1 when unknown.</param>
/// <param name="Threads">Threads of the server process; -1 when unknown.</param>
/// <param name="Clients">INFO clients <c>connected_clients</c> (the monitor's own connection included); -1 when unknown.</param>
/// <param name="EventsInStore">EVENTCOUNT; -1 when unknown.</param>
/// <param name="Totals">The <see cref="SoakCounters"/> snapshot, indexed by <see cref="Counter"/>.</param>
internal sealed record SoakSample(double Seconds, long ResidentBytes, int Threads, int Clients, long EventsInStore, long[] Totals)
{
    public long Total(Counter counter) => Totals[(int)counter];
}
