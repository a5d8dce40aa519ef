using System.Net;
using Microsoft.Playwright;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

[Collection(EmbeddedBackbone.Name)]
public sealed class AccessTests(EmbeddedBackboneFixture fixture)
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task BeyondLoopbackTheWorkbenchAsksForTheWebPasswordFirst()
    {
        await using var web = await WebProcess.StartAsync(fixture.Osiris.App.GetEndpoint("api", "http"), fixture.ApiKey, Password);

        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = web.Loopback })
        {
            using var page = await http.GetAsync("/tasks/new", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Equal("/signin?returnUrl=%2Ftasks%2Fnew", page.Headers.Location?.ToString());
            using var hub = await http.PostAsync("/_blazor/negotiate?negotiateVersion=1", null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, hub.StatusCode);
        }

        await using var chromium = await Chromium.LaunchAsync();
        var browser = await chromium.OpenAsync(web.Loopback, "/tasks/new");
        Assert.Contains("/signin", browser.Url);
        await browser.Locator("[data-testid=password]").FillAsync("guess");
        await browser.Locator("[data-testid=signin]").ClickAsync();
        await Assertions.Expect(browser.Locator("[role=alert]")).ToHaveTextAsync("That is not the password.");

        await browser.Locator("[data-testid=password]").FillAsync(Password);
        await browser.Locator("[data-testid=signin]").ClickAsync();
        await Chromium.WaitLiveAsync(browser);
        Assert.EndsWith("/tasks/new", browser.Url);
        await Assertions.Expect(browser.Locator("[data-testid=new-title]")).ToBeVisibleAsync();
    }
}
