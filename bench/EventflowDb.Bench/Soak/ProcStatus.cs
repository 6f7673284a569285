using System.Globalization;

namespace EventflowDb.Bench.Soak;

/// <summary>Resident memory and thread count of a process, read from <c>/proc/&lt;pid&gt;/status</c> (VmRSS, Threads).</summary>
internal readonly record struct ProcStatus(long ResidentBytes, int Threads)
{
    /// <summary>The process's figures, or null when it is gone or /proc cannot be read.</summary>
    public static ProcStatus? Read(int pid)
    {
        long rss = -1;
        int threads = -1;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = FirstNumber(line) * 1024; // the kernel writes kB
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = (int)FirstNumber(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return rss >= 0 && threads >= 0 ? new ProcStatus(rss, threads) : null;
    }

    private static long FirstNumber(string line)
    {
        var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture);
    }
}
