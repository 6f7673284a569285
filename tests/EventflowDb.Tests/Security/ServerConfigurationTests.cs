using System.Globalization;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Security;

/// <summary>Flags, environment variables, protected mode and --help, each on its own server process.</summary>
public sealed class ServerConfigurationTests(ITestOutputHelper output) : IntegrationTest(output)
{
    [Fact]
    public async Task Help_lists_every_flag_and_exits_0()
    {
        var (code, text) = await ServerProcess.RunToExitAsync(["--help"]);
        Assert.True(code == 0, $"--help exited {code}:\n{text}");
        foreach (var flag in new[] { "--port", "--data", "--password", "--bind", "--protected-mode", "--checkpoint-interval", "--default-page", "--max-page", "--log-level" })
        {
            Assert.Contains(flag, text, StringComparison.Ordinal);
        }

        foreach (var variable in new[] { "PORT", "DATA", "PASSWORD", "BIND", "PROTECTED_MODE" })
        {
            Assert.Contains(variable, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Unknown_flags_are_refused()
    {
        var (code, text) = await ServerProcess.RunToExitAsync(["--no-such-flag", "1", "--port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture)]);
        Assert.True(code != 0, $"an unknown flag should make the server exit with an error:\n{text}");
    }

    [Fact]
    public async Task Protected_mode_refuses_a_public_bind_without_password()
    {
        string data = ServerProcess.NewTempDirectory();
        var (code, text) = await ServerProcess.RunToExitAsync(["--port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--data", data, "--bind", "0.0.0.0"]);
        ServerProcess.TryDeleteDirectory(data);
        TestOutput.WriteLine(text);
        Assert.True(code == 1, $"expected exit code 1, got {code}:\n{text}");
        Assert.Contains("protected mode", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Protected_mode_also_applies_to_the_bind_variable()
    {
        string data = ServerProcess.NewTempDirectory();
        var env = new Dictionary<string, string> { ["BIND"] = "0.0.0.0", ["PORT"] = ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), ["DATA"] = data };
        var (code, text) = await ServerProcess.RunToExitAsync([], env);
        ServerProcess.TryDeleteDirectory(data);
        Assert.True(code == 1, $"expected exit code 1, got {code}:\n{text}");
        Assert.Contains("protected mode", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Protected_mode_no_allows_a_public_bind()
    {
        var server = await StartServerAsync("--bind", "0.0.0.0", "--protected-mode", "no");
        await using var c = await server.OpenRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        Assert.Contains("0.0.0.0", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protected_mode_variable_no_allows_a_public_bind()
    {
        var server = await StartServerAsync(new ServerSettings
        {
            ExtraArgs = ["--bind", "0.0.0.0"],
            Environment = new Dictionary<string, string> { ["PROTECTED_MODE"] = "no" },
        });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }

    [Fact]
    public async Task Without_a_password_it_listens_on_loopback_and_says_so()
    {
        var server = await StartServerAsync();
        Assert.Contains("Listening on", server.Output, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("0.0.0.0", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_data_password_and_limits_from_environment_variables()
    {
        var server = await StartServerAsync(new ServerSettings
        {
            UseEnvironmentVariables = true,
            Password = "env-pw",
            Environment = new Dictionary<string, string> { ["MAX_PAGE"] = "3" },
        });
        await using var c = await server.OpenRawAsync();
        Assert.Equal("NOAUTH Authentication required.", (await c.CommandAsync("PING")).Text);
        Assert.Equal("OK", (await c.CommandAsync("AUTH", "env-pw")).Str());
        string stream = Guid.NewGuid().ToString();
        var args = new List<string> { "ADD", stream, "any" };
        for (int i = 0; i < 5; i++)
        {
            args.AddRange(["T", "x"]);
        }

        Assert.Equal(5, (await c.EventsAsync([.. args])).Count);
        Assert.Equal(3, (await c.EventsAsync("GET", stream, "0", "100")).Count);
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(server.DataDirectory));
    }

    [Fact]
    public async Task Flags_win_over_environment_variables()
    {
        var server = await StartServerAsync(new ServerSettings
        {
            ExtraArgs = ["--max-page", "4"],
            Environment = new Dictionary<string, string> { ["MAX_PAGE"] = "2", ["PORT"] = "1", ["DATA"] = "/nonexistent/should-not-be-used" },
        });
        await using var c = await server.OpenRawAsync();
        string stream = Guid.NewGuid().ToString();
        await c.EventsAsync("ADD", stream, "any", "T", "1", "T", "2", "T", "3", "T", "4", "T", "5");
        Assert.Equal(4, (await c.EventsAsync("GET", stream)).Count);
    }
}
