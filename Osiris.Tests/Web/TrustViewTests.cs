using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Web;

/// <summary>Safe autonomy in the browser: a stranger's reply waits on the task until a person edits and sends it; senders and the policy are set from the UI.</summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class TrustViewTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    [Fact]
    public async Task AStrangersReplyWaitsOnTheTaskAndLeavesOnlyAsEditedWhenAPersonSendsIt()
    {
        fixture.RequireAvailable();
        var from = "49153" + Random.Shared.Next(10_000_000, 99_999_999);
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText($"wamid.{Guid.NewGuid():N}", from, "Nia", "How much for 300 units?")), Ct)).EnsureSuccessStatusCode();
        Guid taskId;
        await using (var db = fixture.CreateDbContext())
        {
            taskId = await db.Tasks.Where(t => t.ReplyAddress == from).Select(t => t.Id).SingleAsync(Ct);
        }

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{taskId}");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=sender-level]")).ToHaveTextAsync("unknown sender");

        await fixture.CompleteTaskAsync(taskId, "300 units cost 3,750 EUR.");
        var card = page.Locator("[data-testid=reply-review]");
        await Assertions.Expect(card).ToBeVisibleAsync();
        await Assertions.Expect(card.Locator("[data-testid=reply-text]")).ToHaveValueAsync("300 units cost 3,750 EUR.");
        Assert.DoesNotContain(fixture.Graph.Requests, r => r.Body.GetProperty("to").GetString() == from);

        await card.Locator("[data-testid=reply-text]").FillAsync("300 units cost 3,750 EUR, delivery included.");
        await card.Locator("[data-testid=reply-send]").ClickAsync();
        await Assertions.Expect(card).ToHaveCountAsync(0);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!fixture.Graph.Requests.Any(r => r.Body.GetProperty("to").GetString() == from) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
        }
        var sent = Assert.Single(fixture.Graph.Requests, r => r.Body.GetProperty("to").GetString() == from);
        Assert.Equal("300 units cost 3,750 EUR, delivery included.", sent.Body.GetProperty("text").GetProperty("body").GetString());

        // The operator trusts the sender from the task view; the policy now lists the number.
        await page.Locator("[data-testid=trust-sender]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=sender-level]")).ToHaveTextAsync("trusted sender");
        var policy = await fixture.Api.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, Ct);
        Assert.Contains("+" + from, policy!.Allow);
    }

    [Fact]
    public async Task TheTrustPageShowsThePolicyAndSavesAChangeThatTheApiThenServes()
    {
        fixture.RequireAvailable();
        var before = (await fixture.Api.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, Ct))!;
        try
        {
            await using var chromium = await Chromium.LaunchAsync();
            var page = await chromium.OpenAsync(Web, "/settings/trust");
            await Chromium.WaitLiveAsync(page);
            await Assertions.Expect(page.Locator("[data-testid=unknown-tool-mode]")).ToHaveValueAsync(before.Levels.Unknown.ToolMode);
            await page.Locator("[data-testid=unknown-cost]").FillAsync("0.5");
            await page.Locator("[data-testid=trust-block]").FillAsync("spam@nuisance.example\n+4915100001111");
            await page.Locator("[data-testid=trust-save]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=trust-saved]")).ToBeVisibleAsync();

            var after = (await fixture.Api.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, Ct))!;
            Assert.Equal(0.5m, after.Levels.Unknown.MaxCostUsd);
            Assert.Equal(["spam@nuisance.example", "+4915100001111"], after.Block);

            // A malformed entry is refused with the reason, before anything is sent.
            await page.Locator("[data-testid=trust-allow]").FillAsync("not an address");
            await page.Locator("[data-testid=trust-save]").ClickAsync();
            await Assertions.Expect(page.Locator("[role=alert]", new() { HasTextString = "not an address" })).ToBeVisibleAsync();
        }
        finally
        {
            (await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", before, OsirisJson.Options, Ct)).EnsureSuccessStatusCode();
        }
    }
}
