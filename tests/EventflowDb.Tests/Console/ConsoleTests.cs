using System.Text.Json;
using EventflowDb.Tests.Groups;
using EventflowDb.Tests.Harness;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EventflowDb.Tests.Console;

/// <summary>
/// The web console (SPEC "HTTP": <c>GET /</c>) in a real browser against a real server: sign-in, streams and events,
/// the live tail, consumer groups and the dashboard. Waits are Playwright's expectations (5 s), never sleeps on timing.
/// With EFDB_SCREENSHOTS=docs/screenshots the tests also save the screens shown in the README.
/// </summary>
public sealed class ConsoleTests(ConsoleFixture fixture, ITestOutputHelper output) : IntegrationTest(output), IClassFixture<ConsoleFixture>
{
    private ServerProcess Server => fixture.Server;

    public override Task InitializeAsync()
    {
        Track(fixture.Server);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Sign_in_refuses_a_wrong_password_and_lets_the_right_one_in()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await Expect(page.Locator("#signin-form")).ToBeVisibleAsync();
        await Expect(page.Locator("#shell")).ToBeHiddenAsync();

        await page.GetByLabel("User").FillAsync("default");
        await page.GetByLabel("Password").FillAsync("wrong");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#signin-error")).ToHaveTextAsync("Wrong user name or password.");
        await Expect(page.Locator("#shell")).ToBeHiddenAsync();

        await page.GetByLabel("Password").FillAsync(ConsoleFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#shell")).ToBeVisibleAsync();
        await Expect(page.Locator("#user")).ToHaveTextAsync("default");

        // The credentials last for the browser tab's session: a reload stays signed in; signing out forgets them.
        await page.ReloadAsync();
        await Expect(page.Locator("#shell")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.Locator("#signin-form")).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(page.Locator("#signin-form")).ToBeVisibleAsync();

        // A server without a password needs no sign-in at all.
        var open = await StartServerAsync(new ServerSettings { Http = true });
        var openPage = await fixture.NewPageAsync(open);
        await openPage.GotoAsync("/");
        await Expect(openPage.Locator("#shell")).ToBeVisibleAsync();
        await Expect(openPage.Locator("#user")).ToHaveTextAsync("no authentication");
        await Expect(openPage.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_stream_shows_its_events_and_a_causation_id_links_to_the_event_it_names()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        var placed = await AddAsync(c, "order-1001", """[{"type": "OrderPlaced", "data": {"customer": "ann", "total": 42.5, "items": [{"sku": "A-7", "qty": 2}]}, "metadata": {"source": "web"}}]""");
        string placedId = placed[0].GetProperty("id").GetString()!;
        await AddAsync(c, "order-1001", $$"""[{"type": "OrderPaid", "data": {"amount": 42.5}, "causation_id": "{{placedId}}", "correlation_id": "{{placedId}}"}]""");
        await AddAsync(c, "customer-ann", """[{"type": "CustomerRegistered", "data": {"name": "Ann"}}]""");
        for (int i = 1002; i <= 1006; i++)
        {
            await AddAsync(c, $"order-{i}", $$$"""[{"type": "OrderPlaced", "data": {"total": {{{i % 97}}}}}, {"type": "OrderShipped", "data": {}}]""");
        }

        var page = await SignedInPageAsync();
        await page.GotoAsync("/#/streams");
        await page.GetByLabel("Prefix").FillAsync("order-");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "order-1001", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "order-1006", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "customer-ann" })).ToHaveCountAsync(0);
        await ShotAsync(page, "streams");

        await page.GetByRole(AriaRole.Link, new() { Name = "order-1001", Exact = true }).ClickAsync();
        var events = page.Locator("article.event");
        await Expect(events).ToHaveCountAsync(2);
        await Expect(events.Nth(0).Locator(".event-type")).ToHaveTextAsync("OrderPlaced");
        await Expect(events.Nth(0).Locator("pre.json").First).ToContainTextAsync("\"customer\": \"ann\"");
        await Expect(events.Nth(0).Locator("pre.json").Nth(1)).ToContainTextAsync("\"source\": \"web\"");
        await Expect(events.Nth(1).Locator(".event-type")).ToHaveTextAsync("OrderPaid");
        await ShotAsync(page, "stream-events");

        await events.Nth(1).Locator(".event-ids").GetByRole(AriaRole.Link).First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"#/events/{placedId}$"));
        await Expect(page.Locator("article.event .event-type")).ToHaveTextAsync("OrderPlaced");
        await Expect(page.Locator("article.event")).ToHaveAttributeAsync("data-id", placedId);
    }

    [Fact]
    public async Task The_live_tail_shows_an_event_added_over_RESP()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync("/#/tail?channel=category:payment");
        await Expect(page.Locator(".tail-status")).ToContainTextAsync("live");

        await using var c = await Server.OpenAuthenticatedRawAsync();
        var added = await AddAsync(c, "payment-77", """[{"type": "PaymentCaptured", "data": {"amount": 19.99, "currency": "EUR"}}]""");
        string id = added[0].GetProperty("id").GetString()!;
        var row = page.Locator($"tr[data-id='{id}']");
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 5_000 });
        await Expect(row).ToContainTextAsync("payment-77");
        await Expect(row).ToContainTextAsync("PaymentCaptured");

        // Events of other channels do not show.
        await AddAsync(c, "order-2002", """[{"type": "OrderPlaced", "data": {}}]""");
        var second = await AddAsync(c, "payment-78", """[{"type": "PaymentCaptured", "data": {"amount": 5}}]""");
        await Expect(page.Locator($"tr[data-id='{second[0].GetProperty("id").GetString()}']")).ToBeVisibleAsync();
        await Expect(page.Locator(".tail-list tbody tr")).ToHaveCountAsync(2);
        await ShotAsync(page, "live-tail");
    }

    [Fact]
    public async Task Replaying_a_parked_event_takes_it_off_the_parked_list()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        var shipped = await AddAsync(c, "shipment-501", """[{"type": "ShipmentBooked", "data": {"carrier": "DHL"}}, {"type": "ShipmentLabelled", "data": {"label": "L-1"}}]""");
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "shipping", "category:shipment", "0", "ACKTIMEOUT", "50", "MAXDELIVERIES", "1")).Str());
        Assert.Equal(2, (await c.CommandAsync("GROUP", "READ", "shipping", "worker-1", "COUNT", "2")).Arr().Count);
        Assert.Equal("OK", (await c.CommandAsync("GROUP", "CREATE", "notifications", "type:ShipmentBooked", "0")).Str());
        Assert.Single((await c.CommandAsync("GROUP", "READ", "notifications", "mailer-1", "COUNT", "1")).Arr());

        // Its one delivery used, an event past its ack timeout is parked (GROUP INFO and the console's reads park it).
        var info = await c.GroupInfoAsync("shipping");
        for (int i = 0; i < 100 && info["parked"].Int() < 2; i++)
        {
            await Task.Delay(50);
            info = await c.GroupInfoAsync("shipping");
        }

        Assert.Equal(2, info["parked"].Int());

        var page = await SignedInPageAsync();
        await page.GotoAsync("/#/groups");
        var row = page.Locator("tr", new() { Has = page.GetByRole(AriaRole.Link, new() { Name = "shipping", Exact = true }) });
        await Expect(row).ToContainTextAsync("category:shipment");
        await ShotAsync(page, "groups");
        await page.GetByRole(AriaRole.Link, new() { Name = "shipping", Exact = true }).ClickAsync();

        var parked = page.Locator("[data-testid=parked]");
        foreach (var e in shipped)
        {
            await Expect(parked.Locator($"tr[data-id='{e.GetProperty("id").GetString()}']")).ToBeVisibleAsync();
        }

        await ShotAsync(page, "group");
        await parked.GetByRole(AriaRole.Button, new() { Name = "Replay parked (2)" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("2 parked events replayed");
        await Expect(parked).ToContainTextAsync("No parked events.");
        await Expect(parked.Locator("tbody tr")).ToHaveCountAsync(0);

        info = await c.GroupInfoAsync("shipping");
        Assert.Equal(0, info["parked"].Int());
        Assert.Equal(2, info["pending"].Int());
    }

    [Fact]
    public async Task The_dashboard_shows_the_counts_of_the_server()
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        await AddAsync(c, "invoice-9001", """[{"type": "InvoiceIssued", "data": {"total": 120}}, {"type": "InvoiceSent", "data": {}}]""");
        using var writer = ScreenshotDirectory is null ? null : new CancellationTokenSource();
        var load = writer is null ? Task.CompletedTask : WriteForAWhileAsync(writer.Token);

        var page = await SignedInPageAsync();
        await page.GotoAsync("/#/dashboard");
        if (writer is not null)
        {
            // Only for the screenshot: some minutes of chart need a load; the test itself needs none.
            await Task.Delay(TimeSpan.FromSeconds(25));
            await writer.CancelAsync();
            await load;
        }

        long events = (await c.CommandAsync("EVENTCOUNT")).Int();
        long streams = (await c.CommandAsync("STREAMCOUNT")).Int();
        string checksum = (await c.CommandAsync("CHECKSUM")).Arr()[1].Str();
        await Expect(page.Locator("[data-testid=events] .value")).ToHaveTextAsync(events.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Locator("[data-testid=streams] .value")).ToHaveTextAsync(streams.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Locator("[data-testid=checksum] .value")).ToHaveTextAsync(checksum);
        await Expect(page.Locator("[data-testid=size] .value")).ToContainTextAsync("B");
        await Expect(page.Locator("[data-testid=uptime] .value")).Not.ToBeEmptyAsync();
        await Expect(page.Locator(".chart svg")).ToHaveCountAsync(2);
        await ShotAsync(page, "dashboard");

        await page.GetByRole(AriaRole.Link, new() { Name = "Cluster" }).ClickAsync();
        await Expect(page.Locator("#view")).ToContainTextAsync("single node");
    }

    private static string? ScreenshotDirectory => ConsoleFixture.ScreenshotDirectory;

    /// <summary>A page signed in as default (the sign-in screen, as a user sees it).</summary>
    private async Task<IPage> SignedInPageAsync()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByLabel("Password").FillAsync(ConsoleFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#shell")).ToBeVisibleAsync();
        return page;
    }

    /// <summary>ADD in its JSON form; returns the stored events.</summary>
    private static async Task<List<JsonElement>> AddAsync(RespConnection c, string stream, string eventsJson)
    {
        var reply = await c.CommandAsync("ADD", $$"""{"stream": "{{stream}}", "events": {{eventsJson}}}""");
        Assert.False(reply.IsError(), RespText.Describe(reply));
        return [.. reply.Arr().Select(e => JsonDocument.Parse(e.Str()).RootElement.Clone())];
    }

    /// <summary>Saves a screenshot of the page when EFDB_SCREENSHOTS is set (docs/screenshots); nothing otherwise.</summary>
    private static async Task ShotAsync(IPage page, string name)
    {
        if (ScreenshotDirectory is null)
        {
            return;
        }

        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png") });
    }

    /// <summary>A steady trickle of ADDs for the dashboard's screenshot.</summary>
    private async Task WriteForAWhileAsync(CancellationToken stop)
    {
        await using var c = await Server.OpenAuthenticatedRawAsync();
        var random = new Random(7);
        for (int i = 0; !stop.IsCancellationRequested; i++)
        {
            int burst = 5 + random.Next(40);
            for (int j = 0; j < burst; j++)
            {
                await AddAsync(c, $"sensor-{i % 12}", $$$"""[{"type": "Reading", "data": {"value": {{{random.Next(100)}}}}}]""");
            }

            await Task.Delay(100 + random.Next(200), CancellationToken.None);
        }
    }
}
