using EventflowDb.Client.Tests.Support;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Client.Tests;

/// <summary>Connecting as an ACL user other than <c>default</c>, and what a refusal looks like to the client.</summary>
public sealed class UserTests(PasswordClientFixture fixture, ITestOutputHelper output)
    : ClientTest<PasswordClientFixture>(fixture, output), IClassFixture<PasswordClientFixture>
{
    private async Task<string> CreateUserAsync(params string[] rules)
    {
        string user = Unique("user");
        await using var admin = await Server.OpenAuthenticatedRawAsync();
        var reply = await admin.CommandAsync(["ACL", "SETUSER", user, .. rules]);
        Assert.Equal("OK", reply.Str());
        return user;
    }

    [Fact]
    public async Task The_User_option_authenticates_as_that_user_and_NOPERM_is_a_PermissionDeniedException()
    {
        string user = await CreateUserAsync("on", ">orders-pw", "%W~orders-*", "%R~*", "+@read", "+@write");
        string connectionString = Connect.ConnectionString(Server, withPassword: false);
        await using var client = await EventflowDbClient.ConnectAsync(connectionString, new EventflowDbClientOptions { User = user, Password = "orders-pw" });

        string orders = Unique("orders");
        await client.AppendAsync(orders, ExpectedVersion.NoStream, Numbered(1));
        Assert.Equal(1, await client.ReadStreamAsync(orders).CountAllAsync());

        string payments = Unique("payments");
        var refused = await Assert.ThrowsAsync<PermissionDeniedException>(() => client.AppendAsync(payments, ExpectedVersion.Any, Numbered(1)));
        Assert.Equal(EventflowDbErrorCodes.NoPermission, refused.ErrorCode);
        Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await client.ReadStreamAsync(payments).CountAllAsync());
    }

    [Fact]
    public async Task The_user_in_the_connection_string_works_too()
    {
        string user = await CreateUserAsync("on", ">reader-pw", "~*", "+@read");
        string connectionString = Connect.ConnectionString(Server, $"user={user},password=reader-pw", withPassword: false);
        await using var client = await EventflowDbClient.ConnectAsync(connectionString);
        Assert.True(await client.GetEventCountAsync() >= 0);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => client.AppendAsync(Unique("ro"), ExpectedVersion.Any, Numbered(1)));
    }

    [Fact]
    public async Task A_wrong_password_for_a_user_fails_with_AuthenticationException()
    {
        string user = await CreateUserAsync("on", ">right", "~*", "+@all");
        string connectionString = Connect.ConnectionString(Server, withPassword: false);
        var e = await Assert.ThrowsAsync<AuthenticationException>(
            () => EventflowDbClient.ConnectAsync(connectionString, new EventflowDbClientOptions { User = user, Password = "wrong" }));
        Assert.Equal(EventflowDbErrorCodes.WrongPassword, e.ErrorCode);
    }
}
