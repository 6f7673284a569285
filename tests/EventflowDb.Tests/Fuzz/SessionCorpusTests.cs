using System.Diagnostics;
using EventflowDb.Fuzz;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Fuzz;

/// <summary>
/// Replays the session fuzz corpus (tests/EventflowDb.Fuzz/corpus/session: seeds, afl-fuzz's minimized queue and every
/// input that once found a bug) through the harness's own target, <see cref="SessionTarget"/>: a whole ClientSession over
/// in-memory pipes against a real store. No exception escapes, every request gets a reply or the session closes cleanly,
/// each session ends within a bound, and afterwards the store still answers a normal ADD and GET (docs/fuzzing.md).
/// </summary>
public sealed class SessionCorpusTests(SessionFixture fixture, ITestOutputHelper output) : IClassFixture<SessionFixture>
{
    [Fact]
    public async Task Every_session_corpus_input_is_answered_and_the_session_ends()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus", "session");
        string[] files = Directory.GetFiles(directory);
        Assert.True(files.Length >= 20, $"the session corpus in {directory} has {files.Length} files");
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            try
            {
                await fixture.RunAsync(await File.ReadAllBytesAsync(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e}");
            }
        }

        output.WriteLine($"{files.Length} inputs in {clock.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await fixture.Target.ProbeAsync();
    }
}
