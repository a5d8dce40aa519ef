using Aspire.Hosting;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

[Collection(EmbeddedBackbone.Name)]
public sealed class ReconnectTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AfterTheApiRestartsThePageReconnectsByItselfAndShowsWhatWasPublishedMeanwhileOnce()
    {
        var task = await fixture.CreateTaskAsync("Survives an API restart");
        var events = new TaskEvents(fixture, task.Id);
        var before = Guid.NewGuid();
        await events.MessageAsync(before, "before the restart");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(fixture.Osiris.App.GetEndpoint("web", "http"), $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator($"[data-message-id='{before}']")).ToHaveCountAsync(1);

        var app = fixture.Osiris.App;
        await app.ResourceCommands.ExecuteCommandAsync("api", KnownResourceCommands.StopCommand, Ct);
        try
        {
            await page.Locator("[data-connection=reconnecting], [data-connection=offline]").First.WaitForAsync(new() { Timeout = 30_000 });

            // Published while no API runs: the agent writes to the log and Redis, and the web app cannot see it yet.
            var during = new List<Guid>();
            for (var i = 0; i < 3; i++)
            {
                during.Add(Guid.NewGuid());
                await events.MessageAsync(during[^1], $"published during the outage {i}");
            }
            var answer = Guid.NewGuid();
            await events.DeltaAsync(answer, "streamed ");
            await events.DeltaAsync(answer, "across the gap");

            await fixture.Osiris.StartAgainAsync("api", Ct);
            await Chromium.WaitLiveAsync(page, timeoutMs: 60_000);

            foreach (var id in during)
            {
                await Assertions.Expect(page.Locator($"[data-message-id='{id}']")).ToHaveCountAsync(1);
            }
            await Assertions.Expect(page.Locator($"[data-message-id='{answer}'] [data-testid=message-text]")).ToHaveTextAsync("streamed across the gap");
            await Assertions.Expect(page.Locator($"[data-message-id='{before}']")).ToHaveCountAsync(1);

            // And live again after the gap.
            var after = Guid.NewGuid();
            await events.MessageAsync(after, "after the restart");
            await Assertions.Expect(page.Locator($"[data-message-id='{after}']")).ToHaveCountAsync(1);
        }
        finally
        {
            // The fixture is shared: leave the API running whatever happened.
            await fixture.Osiris.StartAgainAsync("api", CancellationToken.None);
        }
    }
}
