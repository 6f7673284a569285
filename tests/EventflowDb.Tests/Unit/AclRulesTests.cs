using EventflowDb.Server.Commands;
using EventflowDb.Server.Security;

namespace EventflowDb.Tests.Unit;

/// <summary>Which channels and PSUBSCRIBE patterns a user's read patterns cover (SPEC "TLS and users").</summary>
public sealed class AclRulesTests
{
    private static readonly AclRuleParser Parser = new(CommandCatalog.Create(1 << 20));

    private static AclRules Rules(params string[] rules) => Parser.Apply(AclRules.Empty, rules);

    [Theory]
    [InlineData("~*", "$all", true)]
    [InlineData("allstreams", "type:Opened", true)]
    [InlineData("%R~*", "$all", true)]
    [InlineData("%W~*", "$all", false)]
    [InlineData("~account-*", "$all", false)]
    [InlineData("~account-*", "type:Opened", false)]
    [InlineData("~account-*", "category:account", true)]
    [InlineData("~acc*", "category:account", true)]
    [InlineData("~account-*", "category:accounting", false)]
    [InlineData("~account-1*", "category:account", false)]
    [InlineData("~account-?", "category:account", false)]
    [InlineData("~account-*", "stream:account-42", true)]
    [InlineData("~account-*", "stream:orders-42", false)]
    [InlineData("%R~account-*", "stream:account-42", true)]
    [InlineData("%W~account-*", "stream:account-42", false)]
    [InlineData("~account-*", "not-an-event-channel", true)]
    public void Channels_are_covered_only_when_every_event_on_them_is_readable(string rule, string channel, bool covered) =>
        Assert.Equal(covered, Rules(rule).CoversChannel(channel));

    [Theory]
    [InlineData("~account-*", "stream:account-*", true)]
    [InlineData("~account-*", "stream:*", false)]
    [InlineData("~account-*", "*", false)]
    [InlineData("~account-*", "category:acc*", false)]
    [InlineData("~account-*", "stream:account-42", true)]
    [InlineData("~account-*", "other-channel", true)]
    [InlineData("~*", "*", true)]
    public void Patterns_are_covered_when_they_cannot_reach_an_unreadable_stream(string rule, string pattern, bool covered) =>
        Assert.Equal(covered, Rules(rule).CoversPattern(pattern));

    [Fact]
    public void The_rules_are_described_in_acl_list_form_and_read_back_the_same()
    {
        var rules = Rules("on", ">pw", "%W~orders-*", "%R~*", "+@read", "+@write", "-get");
        string text = rules.Describe();
        Assert.DoesNotContain("pw ", text, StringComparison.Ordinal);
        var again = Parser.Apply(AclRules.Empty, text.Split(' '));
        Assert.Equal(text, again.Describe());
        Assert.True(again.CanWrite("orders-1"));
        Assert.False(again.CanWrite("payments-1"));
        Assert.True(again.CanRead("payments-1"));
    }
}
