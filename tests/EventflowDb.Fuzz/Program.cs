using System.Diagnostics;
using SharpFuzz;

namespace EventflowDb.Fuzz;

/// <summary>
/// The afl-fuzz harness (docs/fuzzing.md). <c>EventflowDb.Fuzz reader|session</c> runs under afl-fuzz in
/// SharpFuzz's persistent out-of-process mode; <c>EventflowDb.Fuzz replay reader|session &lt;file or directory&gt;...</c>
/// runs inputs once each, outside afl, and reports each finding (exit status 1 when there is one).
/// </summary>
internal static class Program
{
    private const string Usage = "usage: EventflowDb.Fuzz reader|session\n       EventflowDb.Fuzz replay reader|session <file or directory>...";

    private static SessionTarget? _session;

    public static int Main(string[] args)
    {
        if (args.Length == 1 && args[0] is "reader" or "session")
        {
            string target = args[0];

            // The persistent child process runs one input after another; a hang or a crash that kills it
            // is reported to afl-fuzz and a new child is started.
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                RunOne(target, copy.ToArray());
            });
            return 0;
        }

        if (args.Length >= 3 && args[0] == "replay" && args[1] is "reader" or "session")
        {
            return Replay(args[1], args.Skip(2));
        }

        Console.Error.WriteLine(Usage);
        return 2;
    }

    private static void RunOne(string target, byte[] input)
    {
        if (target == "reader")
        {
            ReaderTarget.Run(input);
            return;
        }

        _session ??= CreateSession();
        _session.RunAsync(input).GetAwaiter().GetResult();
    }

    private static int Replay(string target, IEnumerable<string> paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal).ToList();
        int findings = 0;
        foreach (string file in files)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                RunOne(target, File.ReadAllBytes(file));
                Console.WriteLine($"ok       {clock.ElapsedMilliseconds,6} ms  {file}");
            }
            catch (Exception e)
            {
                findings++;
                Console.WriteLine($"FINDING  {clock.ElapsedMilliseconds,6} ms  {file}\n{e}");
            }
        }

        if (_session is not null)
        {
            _session.ProbeAsync().GetAwaiter().GetResult();
            _session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        Console.WriteLine($"{files.Count} inputs, {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    /// <summary>The store lives under EFDB_FUZZ_DIR (default: /dev/shm when present, else the temp directory).</summary>
    private static SessionTarget CreateSession()
    {
        string parent = Environment.GetEnvironmentVariable("EFDB_FUZZ_DIR")
            ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        RemoveStoresOfDeadProcesses(parent);
        return SessionTarget.CreateAsync(parent).GetAwaiter().GetResult();
    }

    /// <summary>A child killed by afl-fuzz (a hang) leaves its store behind; the next child removes it.</summary>
    private static void RemoveStoresOfDeadProcesses(string parent)
    {
        foreach (string directory in Directory.EnumerateDirectories(parent, "efdb-fuzz-*"))
        {
            string[] parts = Path.GetFileName(directory).Split('-');
            if (parts.Length >= 3 && int.TryParse(parts[2], out int pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                    // Another child is removing it.
                }
            }
        }
    }
}
