using EventflowDb.Tests.Harness;
using Microsoft.Playwright;

namespace EventflowDb.Tests.Console;

/// <summary>
/// One real server with a password and its HTTP port, and one headless chromium (Debian's /usr/bin/chromium, installed
/// by scripts/test.sh; Playwright never downloads a browser here) shared by the console tests of a class. Each test
/// opens its own browser context, so sessionStorage (the console's credentials) starts empty.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string Password = "console-Pw7";

    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>
    /// Without these chromium waits on the network it cannot reach (component updates, sync, QUIC probes) and on a
    /// sandbox that needs privileges a container lacks.
    /// </summary>
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private ServerProcess? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("fixture not initialised");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>Where screenshots go when EFDB_SCREENSHOTS names a directory (relative to the repository); null otherwise.</summary>
    public static string? ScreenshotDirectory { get; } = Environment.GetEnvironmentVariable("EFDB_SCREENSHOTS") is { Length: > 0 } dir
        ? Path.GetFullPath(Path.Combine(ServerProcess.RepoRoot, dir))
        : null;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: scripts/test.sh installs it (apt-get install chromium)");
        }

        // The driver (node and the Playwright package) ships in the NuGet package; nothing is downloaded.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var serverStart = ServerProcess.StartAsync(new ServerSettings { Http = true, Password = Password });
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        });
        _server = await serverStart;
        Assertions.SetDefaultExpectTimeout(5_000);
    }

    /// <summary>A new browser context and page on the server, at a laptop's viewport.</summary>
    public async Task<IPage> NewPageAsync(ServerProcess? server = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = (server ?? Server).HttpAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(10_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
