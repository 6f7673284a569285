using EventflowDb.Server.Commands;

namespace EventflowDb.Tests.Unit;

public class GlobPatternTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("data*", "databases", true)]
    [InlineData("data*", "dir", false)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-c]llo", "hbllo", true)]
    [InlineData("h[a-c]llo", "hdllo", false)]
    [InlineData("stream:\\*", "stream:*", true)]
    [InlineData("stream:\\*", "stream:x", false)]
    [InlineData("category:acc*", "category:account", true)]
    [InlineData("*-read-only", "replica-read-only", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    public void Matches_like_redis(string pattern, string text, bool expected) =>
        Assert.Equal(expected, GlobPattern.IsMatch(pattern, text));

    [Fact]
    public async Task A_pattern_of_many_stars_against_a_long_subject_matches_in_linear_time()
    {
        // Redis CVE-2022-36021: the recursive matcher takes exponential time on this (hours for these sizes).
        string pattern = string.Concat(Enumerable.Repeat("*a", 30)) + "*b";
        string subject = new('a', 200);
        var match = Task.Run(() => GlobPattern.IsMatch(pattern, subject));
        Assert.False(await match.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(GlobPattern.IsMatch(pattern, subject + "b"));
    }

    [Fact]
    public void Agrees_with_a_reference_matcher_on_random_patterns()
    {
        var random = new Random(20261204);
        string[] tokens = ["a", "b", "*", "?", "[ab]", "[^a]", "\\*", "**"];
        for (int round = 0; round < 20_000; round++)
        {
            string pattern = string.Concat(Enumerable.Range(0, random.Next(0, 7)).Select(_ => tokens[random.Next(tokens.Length)]));
            string text = new([.. Enumerable.Range(0, random.Next(0, 8)).Select(_ => "ab*"[random.Next(3)])]);
            Assert.True(Reference(pattern, 0, text, 0) == GlobPattern.IsMatch(pattern, text), $"pattern '{pattern}' text '{text}'");
        }
    }

    /// <summary>The plain recursive definition (exponential, fine for short inputs): what the fast matcher must agree with.</summary>
    private static bool Reference(string pattern, int p, string text, int t)
    {
        if (p == pattern.Length)
        {
            return t == text.Length;
        }

        if (pattern[p] == '*')
        {
            return Reference(pattern, p + 1, text, t) || (t < text.Length && Reference(pattern, p, text, t + 1));
        }

        if (t == text.Length)
        {
            return false;
        }

        char c = text[t];
        switch (pattern[p])
        {
            case '?':
                return Reference(pattern, p + 1, text, t + 1);
            case '\\' when p + 1 < pattern.Length:
                return pattern[p + 1] == c && Reference(pattern, p + 2, text, t + 1);
            case '[':
                int close = pattern.IndexOf(']', p);
                bool negate = pattern[p + 1] == '^';
                string members = pattern[(p + (negate ? 2 : 1))..close];
                return members.Contains(c) != negate && Reference(pattern, close + 1, text, t + 1);
            default:
                return pattern[p] == c && Reference(pattern, p + 1, text, t + 1);
        }
    }

    [Fact]
    public void Ignores_case_when_asked()
    {
        Assert.True(GlobPattern.IsMatch("DATA*", "databases", ignoreCase: true));
        Assert.False(GlobPattern.IsMatch("DATA*", "databases", ignoreCase: false));
    }
}
