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
    public void Ignores_case_when_asked()
    {
        Assert.True(GlobPattern.IsMatch("DATA*", "databases", ignoreCase: true));
        Assert.False(GlobPattern.IsMatch("DATA*", "databases", ignoreCase: false));
    }
}
