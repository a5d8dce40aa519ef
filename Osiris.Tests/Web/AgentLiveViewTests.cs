using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>What the agent's live events look like in the browser: thoughts, drafts, withdrawn text, pauses and spend.</summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class AgentLiveViewTests(EmbeddedBackboneFixture fixture)
{
    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    [Fact]
    public async Task ThoughtsFoldAwayADraftFillsInUntilTheWrittenVersionAndWithdrawnTextDisappears()
    {
        var task = await fixture.CreateTaskAsync("Write deploy.sh for Nia");
        var events = new TaskEvents(fixture, task.Id);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);

        var thought = Guid.NewGuid();
        await events.MessageAsync(thought, "The person wants a script; check the folder first.", kind: "thought", model: "gemini-2.5-pro");
        var folded = page.Locator($"[data-message-id='{thought}'] [data-testid=thought]");
        await Assertions.Expect(folded).ToHaveCountAsync(1);
        Assert.Null(await folded.GetAttributeAsync("open"));
        await folded.Locator("summary").ClickAsync();
        await Assertions.Expect(folded.Locator(".msg-text")).ToHaveTextAsync("The person wants a script; check the folder first.");

        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("deploy.sh", "", 0, 9, Partial: true, Delta: "#!/bin/sh", CallId: "call_1"));
        var artifact = page.Locator("[data-testid=artifact][data-path='deploy.sh']");
        await Assertions.Expect(artifact.Locator("[data-testid=artifact-draft] pre")).ToHaveTextAsync("#!/bin/sh");
        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("deploy.sh", "", 0, 24, Partial: true, Delta: "\necho deploying", CallId: "call_1"));
        await Assertions.Expect(artifact.Locator("[data-testid=artifact-draft] pre")).ToHaveTextAsync("#!/bin/sh\necho deploying");
        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("deploy.sh",
            "--- a/deploy.sh\n+++ b/deploy.sh\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+echo deploying\n", 1, 25));
        await Assertions.Expect(artifact.Locator("[data-testid=artifact-draft]")).ToHaveCountAsync(0);
        await Assertions.Expect(artifact.Locator("tr.add")).ToHaveCountAsync(2);

        var broken = Guid.NewGuid();
        await events.DeltaAsync(broken, "Half an answer that the ");
        await Assertions.Expect(page.Locator($"[data-message-id='{broken}']")).ToHaveCountAsync(1);
        await events.PublishAsync(EventTypes.NewMessage, new NewMessagePayload(broken, "assistant", "text", "", null, true, "gpt-4o", Retracted: true));
        await Assertions.Expect(page.Locator($"[data-message-id='{broken}']")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task APausedTaskSaysWhyAndAPersonRaisesItsBudgetFromThePage()
    {
        var task = await fixture.CreateTaskAsync("Summarise the 400-page manual");
        await using (var db = fixture.CreateDbContext())
        {
            var record = await db.Tasks.SingleAsync(t => t.Id == task.Id, TestContext.Current.CancellationToken);
            record.Status = TaskStatuses.Paused;
            record.PausedFor = PauseReasons.Budget;
            record.BudgetUsd = 1m;
            record.CostUsd = 1.02m;
            record.Result = "Paused: the cost budget of $1 is used up ($1.02).";
            await fixture.CreatePublisher().PublishAsync(db, EventTypes.TaskUpdate, task.Id, record.ToUpdate(), TestContext.Current.CancellationToken);
        }
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);

        var banner = page.Locator("[data-testid=task-paused]");
        await Assertions.Expect(banner).ToContainTextAsync("cost budget of $1 is used up");
        await banner.Locator("[data-testid=raise-budget]").FillAsync("3");
        await banner.Locator("[data-testid=resume-task]").ClickAsync();

        await Assertions.Expect(banner).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator(".task-head-meta [data-status]")).ToHaveAttributeAsync("data-status", TaskStatuses.Queued);
        await using var check = fixture.CreateDbContext();
        var resumed = await check.Tasks.AsNoTracking().SingleAsync(t => t.Id == task.Id, TestContext.Current.CancellationToken);
        Assert.Equal((TaskStatuses.Queued, 4m, (string?)null), (resumed.Status, resumed.BudgetUsd!.Value, resumed.PausedFor));
    }

    [Fact]
    public async Task TheDashboardChartsModelSpendPerDayAndChannel()
    {
        var task = await fixture.CreateTaskAsync("A lead asks for a quote");
        await using (var db = fixture.CreateDbContext())
        {
            db.ModelCalls.Add(new ModelCallRecord
            {
                TaskId = task.Id, Step = 1, Source = TaskSources.WhatsApp, Brain = "openai", Model = "gpt-4o", InputTokens = 40_000,
                CachedInputTokens = 0, OutputTokens = 2_000, CostUsd = 0.12m, CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        }
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");

        var spend = page.Locator("[data-testid=spend]");
        await Assertions.Expect(spend.Locator("[data-testid=spend-bar].bar-whatsapp")).Not.ToHaveCountAsync(0);
        await Assertions.Expect(spend.Locator("[data-testid=spend-total]")).ToContainTextAsync("$");
        await Assertions.Expect(spend.Locator(".spend-legend")).ToContainTextAsync("whatsapp");
        await Assertions.Expect(spend.Locator("[data-testid=spend-top] a", new() { HasTextString = "A lead asks for a quote" })).Not.ToHaveCountAsync(0);
    }
}
