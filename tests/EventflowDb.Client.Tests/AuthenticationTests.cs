using EventflowDb.Client.Tests.Support;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Connecting to a server that requires a password.</summary>
public sealed class AuthenticationTests(PasswordClientFixture fixture, ITestOutputHelper output)
    : ClientTest<PasswordClientFixture>(fixture, output), IClassFixture<PasswordClientFixture>
{
    [Theory]
    [InlineData(null)]
    [InlineData("protocol=resp3")]
    public async Task The_password_in_the_connection_string_authenticates(string? extra)
    {
        await using var client = await Connect.ClientAsync(Server, extra);
        string stream = Unique("auth");
        await client.AppendAsync(stream, ExpectedVersion.NoStream, Numbered(1));
        Assert.Equal(1, await client.ReadStreamAsync(stream).CountAllAsync());
    }

    [Fact]
    public async Task A_wrong_password_fails_to_connect_with_AuthenticationException()
    {
        string connectionString = Connect.ConnectionString(Server, "password=wrong-password", withPassword: false);
        var e = await Assert.ThrowsAsync<AuthenticationException>(() => EventflowDbClient.ConnectAsync(connectionString));
        Assert.Equal(EventflowDbErrorCodes.WrongPassword, e.ErrorCode);
    }

    [Fact]
    public async Task A_wrong_password_with_abortConnect_false_fails_the_first_command_with_AuthenticationException()
    {
        string connectionString = Connect.ConnectionString(Server, "password=wrong-password,abortConnect=false,asyncTimeout=15000,syncTimeout=15000", withPassword: false);
        await using var client = await EventflowDbClient.ConnectAsync(connectionString);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AppendAsync(Unique("never"), ExpectedVersion.Any, Numbered(1)));
        await Assert.ThrowsAsync<AuthenticationException>(() => client.GetEventCountAsync());
    }

    [Fact]
    public async Task A_missing_password_fails_with_AuthenticationException()
    {
        string connectionString = Connect.ConnectionString(Server, withPassword: false);
        var e = await Assert.ThrowsAsync<AuthenticationException>(() => EventflowDbClient.ConnectAsync(connectionString));
        Assert.Equal(EventflowDbErrorCodes.NoAuth, e.ErrorCode);
    }
}
