using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Web;

namespace Osiris.Tests.Security;

[Collection(EmbeddedBackbone.Name)]
public sealed class StreamTicketTests(EmbeddedBackboneFixture fixture)
{
    private async Task<string> ViewerTokenAsync() =>
        (await People.SignInAsync(fixture.Api, await People.CreateAsync(fixture.Api, "wall", Roles.Viewer))).Token;

    private static async Task<StreamTicket> TicketAsync(HttpClient viewer)
    {
        using var response = await viewer.PostAsync("/api/v1/stream/tickets", null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<StreamTicket>(OsirisJson.Options, TestContext.Current.CancellationToken))!;
    }

    private async Task<HttpStatusCode> OpenAsync(string pathAndQuery)
    {
        using var anyone = new HttpClient { BaseAddress = fixture.Api.BaseAddress };
        using var response = await anyone.GetAsync(pathAndQuery, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    [Fact]
    public async Task ATicketOpensTheStreamOnceWithinAMinuteAndNothingElse()
    {
        using var viewer = People.Client(fixture.Api.BaseAddress!, await ViewerTokenAsync());
        var ticket = await TicketAsync(viewer);
        Assert.InRange(ticket.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));

        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"/api/v1/tasks?ticket={ticket.Ticket}")); // the stream only
        Assert.Equal(HttpStatusCode.OK, await OpenAsync($"/api/v1/stream?ticket={ticket.Ticket}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"/api/v1/stream?ticket={ticket.Ticket}")); // spent
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync("/api/v1/stream?ticket=made-up"));

        var expired = await TicketAsync(viewer);
        await using (var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection))
        {
            var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(expired.Ticket));
            var past = DateTimeOffset.UtcNow.AddSeconds(-1);
            await db.StreamTickets.Where(t => t.Hash == hash).ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAt, past), TestContext.Current.CancellationToken);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"/api/v1/stream?ticket={expired.Ticket}"));

        // Tickets never reach the traces (or logs): the query string is redacted before export.
        await Task.Delay(TimeSpan.FromSeconds(6), TestContext.Current.CancellationToken); // one export interval
        Assert.DoesNotContain(fixture.Osiris.Traces.Spans, span => span.Attributes.Values.Any(v => v.Contains(ticket.Ticket, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AnOpenStreamEndsWhenItsSessionIsRevoked()
    {
        var ct = TestContext.Current.CancellationToken;
        using var replica = fixture.StartReplica(("Osiris:Stream:CredentialCheckSeconds", "0.2"));
        var name = await People.CreateAsync(fixture.Api, "gone", Roles.Viewer);
        foreach (var viaTicket in new[] { false, true })
        {
            var session = await People.SignInAsync(fixture.Api, name);
            using var http = replica.CreateClient();
            http.Timeout = Timeout.InfiniteTimeSpan;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
            if (viaTicket)
            {
                using var viewer = People.Client(fixture.Api.BaseAddress!, session.Token);
                request.RequestUri = new Uri($"/api/v1/stream?ticket={(await TicketAsync(viewer)).Ticket}", UriKind.Relative);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
            }
            using var stream = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            await using var body = await stream.Content.ReadAsStreamAsync(ct);

            using (var signOut = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/sign-out"))
            {
                signOut.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
                using var signedOut = await http.SendAsync(signOut, ct);
                Assert.Equal(HttpStatusCode.NoContent, signedOut.StatusCode);
            }
            // The stream ends by itself (a read returns 0) soon after: it outlives its session by one check at most.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            var buffer = new byte[4096];
            while (await body.ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
    }

    [Fact]
    public async Task APlainPageWithEventSourceResumesWithANewTicketWithoutGapOrDuplicate()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var page = await StaticPage.StartAsync(Path.Combine(Repository.Root, "docs", "examples", "stream-ticket.html"));
        (string, string)[] settings = [("Osiris:Cors:Origins", page.Origin)];
        var first = fixture.StartReplica(settings);
        var apiUrl = first.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        var port = new Uri(apiUrl).Port;

        await using var chromium = await Chromium.LaunchAsync();
        var browser = await chromium.OpenAsync(new Uri(page.Origin), $"/?api={Uri.EscapeDataString(apiUrl)}#token={await ViewerTokenAsync()}");
        await Microsoft.Playwright.Assertions.Expect(browser.Locator("#state")).ToHaveTextAsync("live");

        var before = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            before.Add((await fixture.CreateTaskAsync($"Seen live by a plain page {i}")).Id);
        }
        await WaitForAsync(browser, await EventIdsAsync(before));

        // The API drops the page (its replica stops); events go on meanwhile; the API comes back on the same address.
        first.Dispose();
        var during = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            during.Add((await fixture.CreateTaskAsync($"Happened while the page was away {i}")).Id);
        }
        using var second = new ApiReplica(fixture, settings);
        second.UseKestrel(port);
        second.StartServer();
        var expected = await EventIdsAsync([.. before, .. during]);
        var received = await WaitForAsync(browser, expected);

        Assert.Equal(received.Distinct().Count(), received.Count); // nothing twice
        Assert.Equal(received.Order().ToList(), received); // in order
        await using var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection);
        var all = await db.Events.Where(e => e.Id >= received[0] && e.Id <= expected.Max()).Select(e => e.Id).OrderBy(id => id).ToListAsync(ct);
        Assert.Equal(all, received.Where(id => id <= expected.Max()).ToList()); // no gap
    }

    private async Task<List<long>> EventIdsAsync(IReadOnlyList<Guid> tasks)
    {
        await using var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection);
        return await db.Events.Where(e => e.TaskId != null && tasks.Contains(e.TaskId.Value)).Select(e => e.Id).ToListAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<List<long>> WaitForAsync(Microsoft.Playwright.IPage browser, IReadOnlyCollection<long> ids)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var received = (await browser.EvaluateAsync<long[]>("() => window.received")).ToList();
            if (ids.All(received.Contains))
            {
                return received;
            }
            Assert.True(DateTime.UtcNow < deadline, $"The page has [{string.Join(", ", received)}], not all of [{string.Join(", ", ids)}]");
            await Task.Delay(200);
        }
    }

    /// <summary>Serves one HTML file at <c>/</c> from its own origin, as any intranet page would be.</summary>
    private sealed class StaticPage(WebApplication app) : IAsyncDisposable
    {
        public string Origin => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

        public static async Task<StaticPage> StartAsync(string file)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapGet("/", () => Results.File(file, "text/html; charset=utf-8"));
            await app.StartAsync();
            return new StaticPage(app);
        }

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
