using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

[Collection(EmbeddedBackbone.Name)]
public sealed class TaskViewTests(EmbeddedBackboneFixture fixture)
{
    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    private const string Diff1 = "--- a/src/quote.py\n+++ b/src/quote.py\n@@ -0,0 +1,3 @@\n+def quote(units):\n+    # 12.50 a unit\n+    return units * 12.50\n";
    private const string Diff2 = "--- a/src/quote.py\n+++ b/src/quote.py\n@@ -1,3 +1,4 @@\n def quote(units):\n-    # 12.50 a unit\n-    return units * 12.50\n+    price = 11.90 if units >= 300 else 12.50\n+    return round(units * price, 2)\n+\n";

    [Fact]
    public async Task ATaskViewStreamsMessageDeltasAndShowsAnArtifactDiffAndATerminal()
    {
        var task = await fixture.CreateTaskAsync("Quote 300 units for Kerry");
        var events = new TaskEvents(fixture, task.Id);
        var plan = Guid.NewGuid();
        await events.MessageAsync(plan, "- [x] Read the price list\n- Write src/quote.py\n- Run the tests", kind: "plan");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator($"[data-message-id='{plan}'] .plan li")).ToHaveCountAsync(3);

        // Streaming: each delta shows while the message is still open.
        var answer = Guid.NewGuid();
        var message = page.Locator($"[data-message-id='{answer}']");
        await events.DeltaAsync(answer, "Three hundred units ");
        await Assertions.Expect(message.Locator("[data-testid=message-text]")).ToHaveTextAsync("Three hundred units ");
        Assert.Contains("streaming", await message.GetAttributeAsync("class"));
        await events.DeltaAsync(answer, "come to ");
        await Assertions.Expect(message.Locator("[data-testid=message-text]")).ToHaveTextAsync("Three hundred units come to ");
        await events.PublishAsync(EventTypes.NewMessage, new NewMessagePayload(answer, "assistant", "text", "Three hundred units come to $3,570.00.", null, true, "offline-echo"));
        await Assertions.Expect(message.Locator("[data-testid=message-text]")).ToHaveTextAsync("Three hundred units come to $3,570.00.");
        Assert.DoesNotContain("streaming", await message.GetAttributeAsync("class"));
        Assert.Equal("offline-echo", await message.Locator("[data-testid=message-model]").InnerTextAsync());

        // A tool call folds its result in. (The offline agent works on this task too: everything here is found by its own text or id.)
        var marker = Guid.NewGuid().ToString("N")[..8];
        await events.ToolExchangeAsync($"run_command {{\"command\":\"pytest -q -k {marker}\"}}", $"2 passed in 0.03s ({marker})");
        await Assertions.Expect(page.Locator("[data-testid=tool-call]", new() { HasTextString = $"-k {marker}" }).Locator("[data-testid=tool-result]"))
            .ToHaveTextAsync($"2 passed in 0.03s ({marker})");

        // The artifact card: a live diff, its versions, unified or side by side, highlighted.
        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("src/quote.py", Diff1, 1, 62));
        var artifact = page.Locator("[data-testid=artifact][data-path='src/quote.py']");
        await Assertions.Expect(artifact.Locator("tr.add")).ToHaveCountAsync(3);
        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("src/quote.py", Diff2, 2, 96));
        await Assertions.Expect(artifact.Locator("[data-testid=artifact-version]")).ToHaveCountAsync(2);
        await Assertions.Expect(artifact.Locator("tr.del")).ToHaveCountAsync(2);
        await Assertions.Expect(artifact.Locator("tr.add", new() { HasTextString = "price = 11.90" })).ToHaveCountAsync(1);
        Assert.True(await artifact.Locator(".tok-keyword").CountAsync() > 0);
        Assert.Equal(0, await page.Locator("[data-testid=chat] [data-testid=artifact]").CountAsync());

        // The terminal card: xterm.js renders the output (ANSI colours interpreted, not printed), then exit code and duration.
        var commandId = "cmd-" + marker;
        var terminal = page.Locator($"[data-testid=terminal][data-command-id='{commandId}']");
        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload(commandId, "pytest -q", "stdout", "\u001b[32m..\u001b[0m\n"));
        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload(commandId, "pytest -q", "stdout", "2 passed in 0.03s\n"));
        await Assertions.Expect(terminal.Locator(".xterm-rows")).ToContainTextAsync("2 passed in 0.03s");
        Assert.DoesNotContain("[32m", await terminal.Locator(".xterm-rows").InnerTextAsync());
        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload(commandId, "pytest -q", "stdout", "", 0, 1840));
        await Assertions.Expect(terminal.Locator("[data-testid=exit-code]")).ToHaveTextAsync("exit 0");
        await Assertions.Expect(terminal.Locator("[data-testid=duration]")).ToHaveTextAsync("1.8 s");

        await events.MessageAsync(Guid.NewGuid(), "Thanks, please send it to Kerry.", role: "user");
        await page.Locator("[data-testid=diff-split]").ClickAsync();
        await Assertions.Expect(artifact.Locator(".diff-split td.del")).ToHaveCountAsync(2);
        await page.Locator("[data-testid=diff-split]").ClickAsync(); // stays split; the screenshot shows it side by side
        await Screenshots.SaveAsync(page, "task.png", forReadme: true);
    }

    [Fact]
    public async Task OpeningATaskLoadsItsHistoryThenContinuesLiveWithNothingTwice()
    {
        var task = await fixture.CreateTaskAsync("History then live");
        var events = new TaskEvents(fixture, task.Id);
        var early = Guid.NewGuid();
        await events.DeltaAsync(early, "from ");
        await events.DeltaAsync(early, "history");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        var text = page.Locator($"[data-message-id='{early}'] [data-testid=message-text]");
        await Assertions.Expect(text).ToHaveTextAsync("from history");

        await events.DeltaAsync(early, ", then live");
        await Assertions.Expect(text).ToHaveTextAsync("from history, then live");
        await Assertions.Expect(page.Locator($"[data-message-id='{early}']")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task SwitchingTheTaskModelShowsAtOnce()
    {
        using var catalogResponse = await fixture.Api.GetAsync("/api/v1/brains", TestContext.Current.CancellationToken);
        catalogResponse.EnsureSuccessStatusCode();
        var catalog = JsonSerializer.Deserialize<BrainCatalog>(await catalogResponse.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), OsirisJson.Options)!;
        var task = await fixture.CreateTaskAsync("Switch my model");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        var picker = page.Locator("[data-testid=task-model]");
        await Assertions.Expect(picker).ToBeEnabledAsync();

        // Another listed model if the catalog has one, else a model name of the task's own provider ("other model…").
        var current = await picker.InputValueAsync();
        var listed = catalog.Brains.Where(b => b.Configured)
            .SelectMany(b => b.Models.DefaultIfEmpty(b.DefaultModel).Select(m => (b.Brain, Model: m)))
            .FirstOrDefault(o => $"{o.Brain}|{o.Model}" != current);
        var target = listed.Brain is not null ? listed : (Brain: current.Split('|')[0], Model: "switched-" + Guid.NewGuid().ToString("N")[..6]);
        if (listed.Brain is not null)
        {
            await picker.SelectOptionAsync($"{target.Brain}|{target.Model}");
        }
        else
        {
            await picker.SelectOptionAsync($"{target.Brain}|*other*");
            await page.Locator("[data-testid=task-model-custom]").FillAsync(target.Model);
            await page.Locator("[data-testid=task-model-custom-use]").ClickAsync();
        }

        await Assertions.Expect(picker).ToHaveValueAsync($"{target.Brain}|{target.Model}", new() { Timeout = 2_000 });
        TaskDto? stored = null;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((stored?.Brain, stored?.Model) != (target.Brain, target.Model) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            stored = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{task.Id}", OsirisJson.Options, TestContext.Current.CancellationToken);
        }
        Assert.Equal((target.Brain, target.Model), (stored!.Brain, stored.Model));

        // The offline brain is a script: no model name to type for it.
        Assert.Equal(0, await picker.Locator("option[value='offline|*other*']").CountAsync());

        // Closed, the task shows the model it ran on, once, and offers no switch.
        (await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        await Assertions.Expect(picker).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid=task-model-name] .model-id")).ToHaveTextAsync(target.Model);
    }

    [Fact]
    public async Task TheNewTaskFormCreatesAUiTaskAndOpensIt()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/tasks/new");
        await Chromium.WaitLiveAsync(page);
        var title = "Made in the workbench " + Guid.NewGuid().ToString("N")[..6];
        await page.Locator("[data-testid=new-title]").FillAsync(title);
        await page.Locator("[data-testid=new-description]").FillAsync("Draft a reply to Kerry with the quote.");
        await page.Locator("[data-testid=new-submit]").ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=task-heading]")).ToHaveTextAsync(title);
        var id = Guid.Parse(page.Url.Split('/')[^1]);
        var stored = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{id}", OsirisJson.Options, TestContext.Current.CancellationToken);
        Assert.Equal(TaskSources.Ui, stored!.Source);
        Assert.Equal(title, stored.Title);
    }
}
