using System.Diagnostics;
using EventflowDb.Fuzz;

namespace EventflowDb.Protocol.Tests;

/// <summary>
/// Replays the reader fuzz corpus (tests/EventflowDb.Fuzz/corpus/reader: seeds, afl-fuzz's minimized queue and every
/// input that once found a bug) through the harness's own target, <see cref="ReaderTarget"/>: each input is read
/// whole and in pieces, and both reads must agree and keep the limits (docs/fuzzing.md).
/// </summary>
public class FuzzCorpusTests
{
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(2);

    [Fact]
    public void Every_reader_corpus_input_reads_alike_whole_and_in_pieces()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus", "reader");
        string[] files = Directory.GetFiles(directory);
        Assert.True(files.Length >= 10, $"the reader corpus in {directory} has {files.Length} files");
        var failures = new List<string>();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            var clock = Stopwatch.StartNew();
            try
            {
                ReaderTarget.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e}");
                continue;
            }

            if (clock.Elapsed > PerInput)
            {
                failures.Add($"{Path.GetFileName(file)}: took {clock.ElapsedMilliseconds} ms");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void The_reader_target_reads_a_well_formed_stream_into_its_requests()
    {
        var outcome = ReaderTarget.Run("*1\r\n$4\r\nPING\r\nGET s 0\r\n*2\r\n$3\r\nGET"u8);
        Assert.Equal(["array [50494E47]", "inline [474554, 73, 30]"], outcome.Requests.Select(r => r.ToString()));
        Assert.Null(outcome.Error);
        Assert.Equal(11, outcome.Leftover);
    }
}
