using System.Diagnostics;
using System.Net;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Web;

[Collection(EmbeddedBackbone.Name)]
public sealed class DashboardTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    [Fact]
    public async Task WhatsAppMessagesAppearOnTheOpenDashboardWithoutAReloadWithinFiveSecondsEach()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        var loads = 0;
        page.Load += (_, _) => loads++;

        // A plain SSE client beside the browser splits the latency: POST → frame at a client (the API's share) and the rest
        // (the web app's store, the Blazor render over its circuit, and Chromium painting it).
        var clock = Stopwatch.StartNew();
        var arrivals = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        await using var sse = await SseClient.ConnectAsync(fixture.Api, "?types=task_created");
        using var stopReading = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            while (!stopReading.IsCancellationRequested && await sse.NextEventAsync(TimeSpan.FromSeconds(60)) is { } e)
            {
                arrivals[e.Payload.GetProperty("title").GetString()!] = clock.Elapsed.TotalMilliseconds;
            }
        }, CancellationToken.None);
        var streamed = new List<double>();

        // One untimed message first: the very first webhook of a process pays for JIT compilation on every hop.
        var latencies = new List<double>();
        for (var i = -1; i < 20; i++)
        {
            var body = $"Quote {100 + i} units of part {Guid.NewGuid().ToString("N")[..8]}";
            var waId = "49" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999);
            var row = page.Locator("[data-testid=task-title]", new() { HasTextString = body });

            var stopwatch = Stopwatch.StartNew();
            var sent = clock.Elapsed.TotalMilliseconds;
            using var response = await fixture.Api.SendAsync(Payloads.WhatsAppPost(
                Payloads.WhatsAppText("wamid." + Guid.NewGuid().ToString("N"), waId, "Kerry Fisher", body)), Ct);
            await row.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 5_000 });
            if (i >= 0)
            {
                latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
                if (arrivals.TryGetValue(body, out var arrived))
                {
                    streamed.Add(arrived - sent);
                }
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var item = page.Locator("li.task-row", new() { Has = row });
            Assert.Equal(TaskSources.WhatsApp, (await item.Locator(".source-label").InnerTextAsync()).ToLowerInvariant());
            Assert.Contains(await item.GetAttributeAsync("data-status"), TaskStatuses.All); // the agent may already run it
        }

        stopReading.Cancel();
        static double P(List<double> values, double q) => values.Order().ElementAt((int)Math.Ceiling(q * values.Count) - 1);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"webhook POST → task visible on the dashboard, {latencies.Count} tasks: p50 {P(latencies, 0.50):F0} ms, p95 {P(latencies, 0.95):F0} ms, max {latencies.Max():F0} ms (goal p95 ≤ 100 ms)");
        if (streamed.Count > 0)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"  of which webhook POST → task_created frame at a plain SSE client: p50 {P(streamed, 0.50):F0} ms, p95 {P(streamed, 0.95):F0} ms ({streamed.Count} seen)");
        }
        Assert.Equal(0, loads);
        Assert.All(latencies, ms => Assert.True(ms < 5_000));

        await Screenshots.SaveAsync(page, "dashboard.png", forReadme: true);
    }

    [Fact]
    public async Task ATaskCreatedElsewhereUpdatesTheCountersAndItsStatusLive()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        var completedBefore = int.Parse(await page.Locator("[data-testid=counter-completed] .counter-value").InnerTextAsync());

        var task = await fixture.CreateTaskAsync("Counted live " + Guid.NewGuid().ToString("N")[..6]);
        var row = page.Locator($"li[data-task-id='{task.Id}']");
        await row.WaitForAsync();
        Assert.Equal("API", await row.Locator(".source-label").InnerTextAsync());

        await fixture.CompleteTaskAsync(task.Id, "done by the test");
        await Assertions.Expect(row).ToHaveAttributeAsync("data-status", TaskStatuses.Completed);
        await Assertions.Expect(page.Locator("[data-testid=counter-completed] .counter-value"))
            .Not.ToHaveTextAsync(completedBefore.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await page.Locator("[data-testid=counter-completed]").ClickAsync();
        await page.Locator("[data-testid=source-filter]").SelectOptionAsync(TaskSources.Api);
        await Assertions.Expect(row).ToBeVisibleAsync();
        await page.Locator("[data-testid=source-filter]").SelectOptionAsync(TaskSources.WhatsApp);
        await Assertions.Expect(row).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task AGlobalNotificationShowsAsAToast()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);

        var text = "Provider failover " + Guid.NewGuid().ToString("N")[..6];
        await using (var db = fixture.CreateDbContext())
        {
            await fixture.CreatePublisher().PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload("warning", text), Ct);
        }

        var toast = page.Locator("[data-testid=toast]", new() { HasTextString = text });
        await toast.WaitForAsync(new() { Timeout = 5_000 });
        Assert.Contains("toast-warning", await toast.GetAttributeAsync("class"));
    }

    [Fact]
    public async Task TheDashboardFitsAPhoneAndSwitchesBetweenDarkAndLight()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/", width: 390, height: 844);
        await Chromium.WaitLiveAsync(page);
        await fixture.CreateTaskAsync("A task with a rather long title that must wrap or be cut on a phone screen");
        await page.Locator("li.task-row").First.WaitForAsync();

        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the dashboard is {overflow} px wider than a phone");
        // The connection says what it is in words, and a row's age is not cut off.
        await Assertions.Expect(page.Locator(".connection-label")).ToBeVisibleAsync();
        var ageClipped = await page.EvaluateAsync<bool>("() => { const a = document.querySelector('li.task-row .task-age'); const r = a.getBoundingClientRect(); return r.right > window.innerWidth || a.scrollWidth > a.clientWidth; }");
        Assert.False(ageClipped, "a row's age is clipped on a phone");
        await Screenshots.SaveAsync(page, "dashboard-phone.png", forReadme: true);

        var dark = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        Assert.Equal("dark", await page.EvaluateAsync<string>("document.documentElement.dataset.theme"));
        await page.Locator("[data-testid=theme-toggle]").ClickAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "light");
        Assert.NotEqual(dark, await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"));

        await page.ReloadAsync();
        Assert.Equal("light", await page.EvaluateAsync<string>("document.documentElement.dataset.theme"));
    }
}
