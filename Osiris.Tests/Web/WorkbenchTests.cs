using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Web;

/// <summary>The workbench as people use it: outages, approvals they can judge, tool states, terminals, keyboard, forms.</summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class WorkbenchTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    [Fact]
    public async Task WithTheApiStoppedThePageSaysOfflineWithinSecondsAndTheNewTaskFormKeepsWhatWasTyped()
    {
        fixture.RequireAvailable();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/tasks/new");
        await Chromium.WaitLiveAsync(page);
        var title = $"Outage form {Guid.NewGuid():N}"[..24];
        await page.Locator("[data-testid=new-title]").FillAsync(title);
        await page.Locator("[data-testid=new-description]").FillAsync("typed before the outage");

        var app = fixture.Osiris.App;
        await app.ResourceCommands.ExecuteCommandAsync("api", KnownResourceCommands.StopCommand, Ct);
        try
        {
            var clock = Stopwatch.StartNew();
            await page.Locator("[data-connection=offline]").WaitForAsync(new() { Timeout = 30_000 });
            TestContext.Current.TestOutputHelper?.WriteLine($"offline shown {clock.Elapsed.TotalSeconds:0.0} s after the API stopped");

            await page.Locator("[data-testid=new-submit]").ClickAsync();
            await Assertions.Expect(page.Locator("[role=alert]", new() { HasTextString = "nothing was lost" })).ToBeVisibleAsync(new() { Timeout = 20_000 });
            await Assertions.Expect(page.Locator("[data-testid=new-title]")).ToHaveValueAsync(title);
            await Assertions.Expect(page.Locator("[data-testid=new-description]")).ToHaveValueAsync("typed before the outage");
            Assert.Equal(0, await page.Locator("#blazor-error-ui:visible").CountAsync());
        }
        finally
        {
            await fixture.Osiris.StartAgainAsync("api", CancellationToken.None);
        }

        // Sent again once the API is back: one task, however often the form was sent.
        await Chromium.WaitLiveAsync(page, timeoutMs: 60_000);
        await page.Locator("[data-testid=new-submit]").ClickAsync();
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/tasks/[0-9a-f-]{36}$"), new() { Timeout = 20_000 });
        await using var db = fixture.CreateDbContext();
        Assert.Equal(1, await db.Tasks.CountAsync(t => t.Title == title, Ct));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyGivesTheSameTaskOnce()
    {
        fixture.RequireAvailable();
        var key = Guid.NewGuid().ToString("N");
        async Task<TaskDto> CreateAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks")
            {
                Content = JsonContent.Create(new { title = $"Once {key}", description = "retried" }),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await fixture.Api.SendAsync(request, Ct);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        }
        var all = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => CreateAsync()));
        Assert.Single(all.Select(t => t.Id).Distinct());
        await using var db = fixture.CreateDbContext();
        Assert.Equal(1, await db.Tasks.CountAsync(t => t.Title == $"Once {key}", Ct));
    }

    [Fact]
    public async Task AnApprovalShowsAFileChangeAsADiffAndACommandAsACommandAndToolCardsSayWhatHappened()
    {
        fixture.RequireAvailable();
        var task = await fixture.CreateTaskAsync("Judge an approval");
        var events = new TaskEvents(fixture, task.Id);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);

        var marker = Guid.NewGuid().ToString("N")[..8];
        await events.MessageAsync(Guid.NewGuid(), $"write_file {{\"path\":\"it's.txt\",\"content\":\"say \\\"hi\\\" {marker}\"}}", kind: "tool_call");
        var preview = $"--- a/it's.txt\n+++ b/it's.txt\n@@ -1 +1 @@\n-old line\n+say \"hi\" {marker}\n";
        await events.PublishAsync(EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.AwaitingApproval, 1, 10, 0, null, null,
            new ApprovalRequest("a1", "write_file", JsonSerializer.SerializeToElement(new { path = "it's.txt", content = $"say \"hi\" {marker}" }), preview)));
        var approval = page.Locator("[data-testid=approval]");
        await Assertions.Expect(approval.Locator("[data-testid=approval-path]")).ToHaveTextAsync("it's.txt");
        await Assertions.Expect(approval.Locator("[data-testid=approval-diff] tr.add", new() { HasTextString = $"say \"hi\" {marker}" })).ToHaveCountAsync(1);
        await Assertions.Expect(approval.Locator("[data-testid=approval-diff] tr.del", new() { HasTextString = "old line" })).ToHaveCountAsync(1);
        Assert.DoesNotContain("\\u0027", await approval.InnerTextAsync());
        await Screenshots.SaveAsync(page, "approval.png", forReadme: true);
        var call = page.Locator("[data-testid=tool-call]", new() { HasTextString = marker });
        await Assertions.Expect(call.Locator("[data-testid=tool-state]")).ToHaveTextAsync("awaiting approval");

        await events.MessageAsync(Guid.NewGuid(), "The person denied this write_file call. Do not repeat it; choose another way or explain what you need.", role: "tool", kind: "tool_result");
        await events.PublishAsync(EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.AwaitingApproval, 2, 20, 0, null, null,
            new ApprovalRequest("a2", "run_command", JsonSerializer.SerializeToElement(new { command = $"echo '{marker}' && ls -la" }))));
        await Assertions.Expect(call.Locator("[data-testid=tool-state]")).ToHaveTextAsync("denied");
        await Assertions.Expect(page.Locator("[data-testid=approval-command]")).ToHaveTextAsync($"$ echo '{marker}' && ls -la");

        // A cancel while a call is in flight: the card says cancelled, and the chat says who cancelled.
        var pending = $"pending-{marker}";
        await events.MessageAsync(Guid.NewGuid(), $"run_command {{\"command\":\"sleep 100 # {pending}\"}}", kind: "tool_call");
        (await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct)).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("[data-testid=tool-call]", new() { HasTextString = pending }).Locator("[data-testid=tool-state]")).ToHaveTextAsync("cancelled");
        await Assertions.Expect(page.Locator(".msg", new() { HasTextString = "Cancelled by api-key." })).ToHaveCountAsync(1);
        await page.ReloadAsync();
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=tool-call]", new() { HasTextString = pending }).Locator("[data-testid=tool-state]")).ToHaveTextAsync("cancelled");
    }

    [Fact]
    public async Task EachTerminalLineIsALineAndTabLeavesTheTerminal()
    {
        fixture.RequireAvailable();
        var task = await fixture.CreateTaskAsync("Terminal lines");
        var events = new TaskEvents(fixture, task.Id);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);

        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload("t1", "sh greet.sh", "stdout", "Hello, world!"));
        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload("t1", "sh greet.sh", "stdout", "Today is Tuesday."));
        await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload("t1", "sh greet.sh", "stdout", "", ExitCode: 0, DurationMs: 12));
        var terminal = page.Locator("[data-testid=terminal][data-command-id=t1]");
        await Assertions.Expect(terminal.Locator("[data-testid=exit-code]")).ToHaveTextAsync("exit 0");
        var rows = terminal.Locator(".xterm-rows > div");
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("Hello, world!");
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("Today is Tuesday.");
        Assert.DoesNotContain("Today", await rows.Nth(0).InnerTextAsync());

        // Keyboard: focus that reaches the terminal card moves on with Tab instead of staying trapped in xterm.
        await terminal.Locator(".xterm-helper-textarea").FocusAsync();
        await page.Keyboard.PressAsync("Tab");
        var stillInside = await page.EvaluateAsync<bool>("() => !!document.activeElement && !!document.activeElement.closest('[data-testid=terminal]')");
        Assert.False(stillInside);
        Assert.Equal("-1", await terminal.Locator(".xterm-helper-textarea").GetAttributeAsync("tabindex"));
    }

    [Fact]
    public async Task AChannelTasksSenderShowsOnTheRowAndTheTaskPage()
    {
        fixture.RequireAvailable();
        var from = "49154" + Random.Shared.Next(10_000_000, 99_999_999);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText($"wamid.{Guid.NewGuid():N}", from, "Kerry Fisher", "Can you quote 300 units?")), Ct)).EnsureSuccessStatusCode();
        var row = page.Locator(".task-row", new() { HasTextString = $"+{from}" });
        await Assertions.Expect(row.Locator("[data-testid=task-sender]")).ToHaveTextAsync($"from Kerry Fisher · +{from}");
        await row.Locator("a").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=sender-trust] [data-testid=task-sender]")).ToHaveTextAsync($"from Kerry Fisher · +{from}");
    }

    [Fact]
    public async Task FiltersLiveInTheAddressAndSurviveAReload()
    {
        fixture.RequireAvailable();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        await page.Locator("[data-testid=counter-cancelled]").ClickAsync();
        await page.Locator("[data-testid=source-filter]").SelectOptionAsync(TaskSources.Api);
        // The address changes in place (no navigation, so no "load" to wait for): poll it.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("(?=.*status=cancelled)(?=.*channel=api)"), new() { Timeout = 30_000 });
        // Committed is enough: the page is live again when WaitLiveAsync says so. (Waiting for the "load" event timed
        // out under CI's load now and then, while the page itself came back.)
        await page.ReloadAsync(new() { WaitUntil = WaitUntilState.Commit, Timeout = 60_000 });
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=counter-cancelled]")).ToHaveAttributeAsync("aria-pressed", "true");
        await Assertions.Expect(page.Locator("[data-testid=source-filter]")).ToHaveValueAsync(TaskSources.Api);
    }

    [Fact]
    public async Task FailedRepliesOverOneChannelGatherInOneToast()
    {
        fixture.RequireAvailable();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        var marker = Guid.NewGuid().ToString("N")[..6];
        await using (var db = fixture.CreateDbContext())
        {
            for (var i = 0; i < 3; i++)
            {
                await fixture.CreatePublisher().PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Error,
                    $"Reply to Customer {marker}{i} over WhatsApp failed after 1 attempt(s): WhatsApp is not configured"), Ct);
            }
        }
        var group = page.Locator("[data-testid=toast][data-group='reply-WhatsApp']");
        await Assertions.Expect(group.Locator("[data-testid=toast-count]")).ToHaveTextAsync("Replies over WhatsApp are failing (3)");
        await Assertions.Expect(page.Locator("[data-testid=toast]", new() { HasTextString = marker })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task OnAPhoneTheTaskPageScrollsAsOneWithTheRequestAboveTheChat()
    {
        fixture.RequireAvailable();
        var task = await fixture.CreateTaskAsync("Phone task");
        var events = new TaskEvents(fixture, task.Id);
        for (var i = 0; i < 12; i++)
        {
            await events.MessageAsync(Guid.NewGuid(), $"Line {i} of a long answer that fills the screen of a phone.");
        }
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}", width: 390, height: 844);
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator(".msg", new() { HasTextString = "Line 11" })).ToHaveCountAsync(1);
        var nested = await page.EvaluateAsync<bool>("() => { const c = document.querySelector('[data-testid=chat]'); return c.scrollHeight > c.clientHeight + 2; }");
        Assert.False(nested, "the chat is a scroll area of its own inside the page");
        await Screenshots.SaveAsync(page, "task-phone.png", forReadme: true);
    }

    [Fact]
    public async Task TheTitleCountsItsCharactersAndARequiredMessageClearsWhileTyping()
    {
        fixture.RequireAvailable();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/tasks/new");
        await Chromium.WaitLiveAsync(page);
        await page.Locator("[data-testid=new-title]").FillAsync("Quote");
        await Assertions.Expect(page.Locator("[data-testid=title-counter]")).ToHaveTextAsync("5 / 200");
        await page.Locator("[data-testid=new-submit]").ClickAsync();
        var required = page.Locator(".validation-message", new() { HasTextString = "Description" });
        await Assertions.Expect(required).ToHaveCountAsync(1);
        await page.Locator("[data-testid=new-description]").PressSequentiallyAsync("3");
        await Assertions.Expect(required).ToHaveCountAsync(0); // gone while the field still has focus
        await Assertions.Expect(page.Locator("[data-testid=new-approval] + span, label.check span").First).ToContainTextAsync("changes files or runs commands");
    }
}
