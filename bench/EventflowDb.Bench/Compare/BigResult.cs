namespace EventflowDb.Bench.Compare;

/// <summary>Restart time and memory of a store loaded with many streams.</summary>
internal sealed record BigResult(long Events, int Streams, int PerStream, TimeSpan LoadTime, long ResidentBytes, TimeSpan Restart, long ResidentBytesAfterRestart, long DiskBytes)
{
    public IEnumerable<(string Name, string Value)> Rows()
    {
        yield return ("events / streams", $"{Events:N0} / {Streams:N0}");
        yield return ($"load time (ADD of {PerStream} events per stream, 8 conns, pipeline 16, fsync always)", $"{LoadTime.TotalSeconds:0.0} s ({Events / LoadTime.TotalSeconds:N0} events/s)");
        yield return ("server RSS after loading (and an index checkpoint)", CompareRun.Mib(ResidentBytes));
        yield return ("restart: graceful stop, then start until PING answers", $"{Restart.TotalSeconds:0.00} s");
        yield return ("server RSS after restart", CompareRun.Mib(ResidentBytesAfterRestart));
        yield return ("data directory size", CompareRun.Mib(DiskBytes));
    }
}
