using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary><c>--aclfile</c>, <c>ACL SAVE</c>/<c>ACL LOAD</c> and <c>--password-file</c>, each on a server of its own.</summary>
public sealed class AclFileTests(ITestOutputHelper output) : IntegrationTest(output)
{
    private const string AdminPassword = "file-admin-pw";

    private static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task Users_saved_with_acl_save_survive_a_restart_and_acl_load_replaces_them()
    {
        string folder = ServerProcess.NewTempDirectory();
        string aclFile = Path.Combine(folder, "users.acl");
        var server = await StartServerAsync(new ServerSettings { Password = AdminPassword, ExtraArgs = ["--aclfile", aclFile] });

        await using (var admin = await server.OpenAuthenticatedRawAsync())
        {
            Assert.Equal("OK", (await admin.CommandAsync("ACL", "SETUSER", "orders", "on", ">orders-pw", "%W~orders-*", "%R~*", "+@read", "+@write")).Str());
            Assert.Equal("OK", (await admin.CommandAsync("ACL", "SAVE")).Str());
        }

        string saved = await File.ReadAllTextAsync(aclFile);
        Assert.Contains($"user orders on #{Sha256("orders-pw")} %W~orders-* %R~* +@read +@write", saved, StringComparison.Ordinal);
        Assert.DoesNotContain("orders-pw", saved, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminPassword, saved, StringComparison.Ordinal);

        await server.RestartAsync();
        await using (var orders = await server.OpenRawAsync())
        {
            Assert.Equal("OK", (await orders.CommandAsync("AUTH", "orders", "orders-pw")).Str());
            Assert.Single(await orders.EventsAsync("ADD", "orders-1", "any", "Placed", "{}"));
            Assert.Equal("NOPERM No permissions to access a stream", await orders.ErrorAsync("ADD", "payments-1", "any", "Paid", "{}"));

            // An operator edits the file: orders goes, billing comes; ACL LOAD takes it and closes the sessions of orders.
            await File.WriteAllTextAsync(aclFile, $"# edited by hand\nuser default on #{Sha256(AdminPassword)} ~* +@all\n\nuser billing on #{Sha256("billing-pw")} ~billing-* +@all\n");
            await using (var admin = await server.OpenAuthenticatedRawAsync())
            {
                Assert.Equal("OK", (await admin.CommandAsync("ACL", "LOAD")).Str());
                Assert.Equal(["billing", "default"], (await admin.CommandAsync("ACL", "USERS")).Strings());
            }

            Assert.True(await orders.WaitForCloseAsync(TimeSpan.FromSeconds(10)), "the removed user's connection must close");
        }

        await using var c = await server.OpenRawAsync();
        Assert.StartsWith("WRONGPASS", await c.ErrorAsync("AUTH", "orders", "orders-pw"), StringComparison.Ordinal);
        Assert.Equal("OK", (await c.CommandAsync("AUTH", "billing", "billing-pw")).Str());
        Assert.Single(await c.EventsAsync("ADD", "billing-1", "any", "Billed", "{}"));

        // A bad file is refused by ACL LOAD as a whole: the users stay as they were.
        await File.WriteAllTextAsync(aclFile, $"user default on #{Sha256(AdminPassword)} ~* +@all\nuser broken on +@nosuchcategory\n");
        await using (var admin = await server.OpenAuthenticatedRawAsync())
        {
            string error = await admin.ErrorAsync("ACL", "LOAD");
            Assert.Contains("users.acl:2:", error, StringComparison.Ordinal);
            Assert.Equal(["billing", "default"], (await admin.CommandAsync("ACL", "USERS")).Strings());
        }

        ServerProcess.TryDeleteDirectory(folder);
    }

    [Theory]
    [InlineData("user orders on +@nosuchcategory", "users.acl:1: Error in ACL SETUSER modifier '+@nosuchcategory'")]
    [InlineData("user orders on >clear-password +@all", "users.acl:1: passwords are kept only as SHA-256")]
    [InlineData("orders on +@all", "users.acl:1: a line must be 'user <name> <rules>'")]
    [InlineData("user a on\nuser a off", "users.acl:2: duplicate user 'a'")]
    public async Task A_bad_acl_file_stops_the_server_from_starting_and_names_the_line(string content, string expected)
    {
        string folder = ServerProcess.NewTempDirectory();
        string aclFile = Path.Combine(folder, "users.acl");
        await File.WriteAllTextAsync(aclFile, content + "\n");
        var outcome = await ServerProcess.StartOrExitAsync(new ServerSettings { Password = AdminPassword, ExtraArgs = ["--aclfile", aclFile] });
        if (outcome.Server is not null)
        {
            await outcome.Server.DisposeAsync();
        }

        Assert.False(outcome.Started, "the server must refuse a bad ACL file");
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains(expected, outcome.Output, StringComparison.Ordinal);
        ServerProcess.TryDeleteDirectory(folder);
    }

    [Fact]
    public async Task Users_of_the_file_work_from_the_start_and_default_may_be_turned_off()
    {
        string folder = ServerProcess.NewTempDirectory();
        string aclFile = Path.Combine(folder, "users.acl");
        await File.WriteAllTextAsync(aclFile, $"user default off\nuser admin on #{Sha256("admin-pw")} ~* +@all\n");
        var server = await StartServerAsync(new ServerSettings { ExtraArgs = ["--aclfile", aclFile] });

        await using var c = await server.OpenRawAsync();
        Assert.Equal("NOAUTH Authentication required.", await c.ErrorAsync("PING"));
        Assert.StartsWith("WRONGPASS", await c.ErrorAsync("AUTH", "anything"), StringComparison.Ordinal);
        Assert.Equal("OK", (await c.CommandAsync("AUTH", "admin", "admin-pw")).Str());
        Assert.Equal("admin", (await c.CommandAsync("ACL", "WHOAMI")).Str());
        ServerProcess.TryDeleteDirectory(folder);
    }

    [Fact]
    public async Task Without_a_password_every_connection_is_the_default_user()
    {
        var server = await StartServerAsync();
        await using var c = await server.OpenRawAsync();
        Assert.Equal("default", (await c.CommandAsync("ACL", "WHOAMI")).Str());
        Assert.Equal(["user default on nopass ~* +@all"], (await c.CommandAsync("ACL", "LIST")).Strings());
    }

    [Fact]
    public async Task The_password_file_sets_the_default_password_and_cannot_be_combined_with_password()
    {
        string folder = ServerProcess.NewTempDirectory();
        string passwordFile = Path.Combine(folder, "password");
        await File.WriteAllTextAsync(passwordFile, "from-a-file\n");
        var server = await StartServerAsync(new ServerSettings { ExtraArgs = ["--password-file", passwordFile] });
        await using (var c = await server.OpenRawAsync())
        {
            Assert.Equal("NOAUTH Authentication required.", await c.ErrorAsync("PING"));
            Assert.Equal("OK", (await c.CommandAsync("AUTH", "from-a-file")).Str());
        }

        var (code, text) = await ServerProcess.RunToExitAsync(["--password", "x", "--password-file", passwordFile]);
        Assert.Equal(2, code);
        Assert.Contains("not both", text, StringComparison.Ordinal);
        ServerProcess.TryDeleteDirectory(folder);
    }
}
