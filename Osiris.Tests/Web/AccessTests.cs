using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

[Collection(EmbeddedBackbone.Name)]
public sealed class AccessTests(EmbeddedBackboneFixture fixture)
{
    private Uri ApiUrl => fixture.Osiris.App.GetEndpoint("api", "http");

    [Fact]
    public async Task BeyondLoopbackEveryoneSignsInAsThemselvesAndActsUnderTheirName()
    {
        var name = await People.CreateAsync(fixture.Api, "ana", Roles.Operator);
        await using var web = await WebProcess.StartAsync(ApiUrl, fixture.WebServiceKey);

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
        await browser.Locator("[data-testid=username]").FillAsync(name);
        await browser.Locator("[data-testid=password]").FillAsync("guess-guess-guess");
        await browser.Locator("[data-testid=signin]").ClickAsync();
        await Assertions.Expect(browser.Locator("[role=alert]")).ToContainTextAsync("The user name or password is wrong.");

        await browser.Locator("[data-testid=username]").FillAsync(name);
        await browser.Locator("[data-testid=password]").FillAsync(People.Password);
        await browser.Locator("[data-testid=signin]").ClickAsync();
        await Chromium.WaitLiveAsync(browser);
        Assert.EndsWith("/tasks/new", browser.Url);
        await Assertions.Expect(browser.Locator("[data-testid=person]")).ToHaveTextAsync($"{name} · operator");

        // What the person does in the web reaches the API under their name, from the address they signed in from.
        var task = await fixture.CreateTaskAsync("Cancelled from the web by a named person");
        await browser.GotoAsync(new Uri(web.Loopback, $"/tasks/{task.Id}").ToString());
        await Chromium.WaitLiveAsync(browser);
        await browser.Locator("[data-testid=cancel-task]").ClickAsync();
        await Assertions.Expect(browser.Locator("[data-testid=message]").Filter(new() { HasText = $"Cancelled by {name}." })).ToBeVisibleAsync();
        var audit = await fixture.Api.GetFromJsonAsync<AuditPage>($"/api/v1/audit?action=task.cancel&target=task:{task.Id}", OsirisJson.Options,
            TestContext.Current.CancellationToken);
        var entry = Assert.Single(audit!.Items);
        Assert.Equal(name, entry.Actor);
        Assert.EndsWith("for 127.0.0.1", entry.Address);

        // Signing out takes a form with its antiforgery token: another local site cannot sign the person out.
        var cookies = new CookieContainer();
        foreach (var cookie in await browser.Context.CookiesAsync())
        {
            cookies.Add(web.Loopback, new System.Net.Cookie(cookie.Name, cookie.Value, cookie.Path));
        }
        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = web.Loopback })
        {
            using var forged = await http.PostAsync("/signout", null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }
        await browser.Locator("[data-testid=signout]").ClickAsync();
        await browser.WaitForURLAsync("**/signin?signedOut=1");
        await browser.GotoAsync(new Uri(web.Loopback, "/").ToString());
        Assert.Contains("/signin", browser.Url);
    }

    [Theory]
    [InlineData("/tasks/1", "/tasks/1")]
    [InlineData("//evil.example", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("/\t/evil.example", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData(null, "/")]
    public void AfterSignInOnlyALocalPathIsFollowed(string? returnUrl, string followed) =>
        Assert.Equal(followed, Osiris.Web.Access.AccessExtensions.LocalOnly(returnUrl));

    [Fact]
    public async Task AViewerWatchesAndIsOfferedNothingThatActs()
    {
        var name = await People.CreateAsync(fixture.Api, "vic", Roles.Viewer);
        var task = await fixture.CreateTaskAsync("Watched by a viewer");
        await using var web = await WebProcess.StartAsync(ApiUrl, fixture.WebServiceKey);
        await using var chromium = await Chromium.LaunchAsync();
        var browser = await chromium.OpenAsync(web.Loopback, $"/tasks/{task.Id}");
        await browser.Locator("[data-testid=username]").FillAsync(name);
        await browser.Locator("[data-testid=password]").FillAsync(People.Password);
        await browser.Locator("[data-testid=signin]").ClickAsync();
        await Chromium.WaitLiveAsync(browser);
        await Assertions.Expect(browser.Locator("[data-testid=task-heading]")).ToHaveTextAsync("Watched by a viewer");
        await Assertions.Expect(browser.Locator("[data-testid=person]")).ToHaveTextAsync($"{name} · viewer");
        foreach (var control in new[] { "cancel-task", "new-task", "nav-trust", "nav-audit", "default-model" })
        {
            await Assertions.Expect(browser.Locator($"[data-testid={control}]")).ToHaveCountAsync(0);
        }
        // What the API would refuse anyway: the UI does not offer it, and the API does refuse it.
        using var viewer = People.Client(fixture.Api.BaseAddress!, (await People.SignInAsync(fixture.Api, name)).Token);
        using var refused = await viewer.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task ARequestNamingAForeignHostIsRefused()
    {
        // The AppHost's web listens on loopback: only loopback names are its own.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Osiris.App.GetEndpoint("web", "http") };
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/");
        foreign.Headers.Host = $"evil.example:{http.BaseAddress.Port}";
        using var refused = await http.SendAsync(foreign, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        using var own = new HttpRequestMessage(HttpMethod.Get, "/alive");
        own.Headers.Host = $"localhost:{http.BaseAddress.Port}";
        using var accepted = await http.SendAsync(own, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task SignInAttemptsAreLimitedPerAddress()
    {
        await using var web = await WebProcess.StartAsync(ApiUrl, fixture.WebServiceKey, ("Osiris__SignInPerMinute", "3"));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = web.Loopback };
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var form = new FormUrlEncodedContent([new("_handler", "signin"), new("userName", "nobody"), new("password", "wrong-wrong-wrong")]);
            using var response = await http.PostAsync("/signin", form, TestContext.Current.CancellationToken);
            statuses.Add(response.StatusCode);
        }
        // The first three reach the form (antiforgery refuses them: 400); the fourth never gets that far.
        Assert.DoesNotContain(HttpStatusCode.TooManyRequests, statuses[..3]);
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[3]);

        // The API limits its own sign-in endpoint per address too (a replica with a low limit).
        using var replica = fixture.StartReplica(("Osiris:Auth:SignInPerMinute", "2"));
        using var api = replica.CreateClient();
        var apiStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await api.PostAsJsonAsync("/api/v1/auth/sign-in", new SignInRequest("nobody", "wrong-wrong-wrong"), OsirisJson.Options,
                TestContext.Current.CancellationToken);
            apiStatuses.Add(response.StatusCode);
        }
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], apiStatuses);
    }

    [Fact]
    public async Task SingleSignOnSignsAPersonInWithTheRoleTheirGroupMapsTo()
    {
        fixture.Oidc.NextPerson = new Security.OidcPerson("sso-" + Guid.NewGuid().ToString("N")[..8], "Bea Example", "bea@example.test", ["osiris-viewers"]);
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = true })
        {
            BaseAddress = fixture.Osiris.App.GetEndpoint("web", "http"),
        };
        // /signin/sso → the provider's authorize → back to /signin-oidc with a code → the web redeems it, the API
        // checks the ID token and answers with a session → the web's cookie → the page.
        using var landed = await http.GetAsync("/signin/sso?returnUrl=%2F", TestContext.Current.CancellationToken);
        var html = await landed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.True(html.Contains("bea@example.test · viewer", StringComparison.Ordinal),
            $"{landed.RequestMessage?.RequestUri}: {html[..Math.Min(html.Length, 3000)]}\n{string.Join("\n", fixture.Oidc.Log)}");
        Assert.Contains(fixture.Oidc.Log, line => line.StartsWith("POST /token", StringComparison.Ordinal) && line.EndsWith("-> tokens", StringComparison.Ordinal));

        var users = await fixture.Api.GetFromJsonAsync<List<UserDto>>("/api/v1/users", OsirisJson.Options, TestContext.Current.CancellationToken);
        var bea = Assert.Single(users!, u => u.UserName == "bea@example.test");
        Assert.Equal((Roles.Viewer, true), (bea.Role, bea.External));
    }

    [Fact]
    public async Task TheApiChecksTheProvidersIdTokenItself()
    {
        using var anyone = People.Client(fixture.Api.BaseAddress!, null);
        async Task<HttpStatusCode> Present(string idToken)
        {
            using var response = await anyone.PostAsJsonAsync("/api/v1/auth/oidc", new OidcSignInRequest(idToken), OsirisJson.Options,
                TestContext.Current.CancellationToken);
            return response.StatusCode;
        }
        var person = new Security.OidcPerson("sso-" + Guid.NewGuid().ToString("N")[..8], "Cy", "cy@example.test", ["osiris-operators"]);
        Assert.Equal(HttpStatusCode.OK, await Present(fixture.Oidc.IssueIdToken(person)));
        Assert.Equal(HttpStatusCode.Unauthorized, await Present(fixture.Oidc.IssueIdToken(person, signWithForeignKey: true)));
        Assert.Equal(HttpStatusCode.Unauthorized, await Present(fixture.Oidc.IssueIdToken(person, audience: "another-app")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Present(fixture.Oidc.IssueIdToken(person,
            issuedAt: DateTime.UtcNow.AddMinutes(-30), lifetime: TimeSpan.FromMinutes(10))));
        // Signed in by the provider, but in no group that maps to a role: refused.
        Assert.Equal(HttpStatusCode.Forbidden, await Present(fixture.Oidc.IssueIdToken(person with { Subject = "sso-nogroup", Groups = ["marketing"] })));
    }
}
