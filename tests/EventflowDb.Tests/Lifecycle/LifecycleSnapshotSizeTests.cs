using System.Text;
using EventflowDb.Server.Commands.Events;

namespace EventflowDb.Tests.Lifecycle;

/// <summary>The stored size of SNAPSHOT (and positional ADD) data, found without encoding it whole.</summary>
public sealed class LifecycleSnapshotSizeTests
{
    [Theory]
    [InlineData("")]
    [InlineData("plain text")]
    [InlineData("{\"a\":[1,2,3]}")]
    [InlineData("  [1, 2]")]
    [InlineData("{not json")]
    [InlineData("quotes \" and \\ and \n newlines \t tabs \u0001 controls")]
    [InlineData("unicode é ü 日本語 😀 <>&'")]
    public void The_counted_length_is_the_stored_length(string text)
    {
        var data = Encoding.UTF8.GetBytes(text);
        Assert.Equal(AddRequestParser.PositionalData(data).Length, AddRequestParser.PositionalDataLength(data, long.MaxValue));
    }

    [Fact]
    public void Long_text_is_counted_across_chunks_without_splitting_characters()
    {
        var random = new Random(7);
        string[] pieces = ["a", "\u0001", "é", "日", "😀", "\"", "\n"];
        var text = new StringBuilder();
        while (text.Length < 10_000)
        {
            text.Append(pieces[random.Next(pieces.Length)]);
        }

        var data = Encoding.UTF8.GetBytes(text.ToString());
        Assert.Equal(AddRequestParser.PositionalData(data).Length, AddRequestParser.PositionalDataLength(data, long.MaxValue));

        // Over the limit: counting stops early with some length above it.
        Assert.True(AddRequestParser.PositionalDataLength(data, 100) > 100);
    }
}
