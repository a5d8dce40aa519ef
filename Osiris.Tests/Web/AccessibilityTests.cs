using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>
/// axe-core (WCAG 2 A and AA rules) on the pages people use most, in both themes: no contrast or label violation, and
/// a keyboard path from the top of the page past the header.
/// </summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class AccessibilityTests(EmbeddedBackboneFixture fixture)
{
    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    public static TheoryData<string, string> Pages => new()
    {
        { "/", "dark" }, { "/", "light" },
        { "/tasks/new", "dark" }, { "/tasks/new", "light" },
        { "task", "dark" }, { "task", "light" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task NoContrastOrLabelViolations(string path, string theme)
    {
        fixture.RequireAvailable();
        if (path == "task")
        {
            var task = await fixture.CreateTaskAsync("Accessible task view");
            var events = new TaskEvents(fixture, task.Id);
            await events.MessageAsync(Guid.NewGuid(), "- [x] Read the request\n- Write the answer", kind: "plan");
            await events.ToolExchangeAsync("run_command {\"command\":\"echo hi\"}", "hi");
            await events.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload("a11y", "echo hi", "stdout", "hi", ExitCode: 0, DurationMs: 3));
            path = $"/tasks/{task.Id}";
        }
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, path);
        await Chromium.WaitLiveAsync(page);
        await page.EvaluateAsync($"document.documentElement.dataset.theme = '{theme}'");
        await page.WaitForTimeoutAsync(300); // let the theme's colours settle (transitions)

        var results = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa"] },
            // xterm.js draws the terminal's text in its own layers; its contrast is that of a terminal theme, checked by eye.
            Rules = new Dictionary<string, RuleOptions> { ["color-contrast"] = new() { Enabled = true } },
        });
        var violations = results.Violations
            .Select(v => $"{v.Id}: {string.Join(" | ", v.Nodes.Take(8).Select(n => string.Join(" ", n.Target) + " " + string.Join(";", n.Any.Select(a => a.Message))))}")
            .ToList();
        Assert.True(violations.Count == 0, $"{path} ({theme}):\n" + string.Join("\n", violations));
    }

    [Fact]
    public async Task TheFirstTabReachesASkipLinkThatLeadsPastTheHeader()
    {
        fixture.RequireAvailable();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/");
        await Chromium.WaitLiveAsync(page);
        // Each page starts on the skip link; the header follows it, and "New task" is a few Tabs away.
        await Assertions.Expect(page.Locator("[data-testid=skip-link]")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("OSIRIS dashboard", await page.EvaluateAsync<string>("document.activeElement.getAttribute('aria-label')"));
        var tabs = 1;
        while (tabs < 10 && await page.EvaluateAsync<string?>("document.activeElement.dataset.testid") != "new-task")
        {
            await page.Keyboard.PressAsync("Tab");
            tabs++;
        }
        Assert.True(tabs <= 4, $"New task took {tabs} Tabs");

        // Enter on the skip link lands in the page, past the header.
        await page.Keyboard.PressAsync("Shift+Tab");
        await page.Locator("[data-testid=skip-link]").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("main#main")).ToBeFocusedAsync();

        // And after navigating, focus starts at the top again.
        await page.Locator("[data-testid=new-task]").ClickAsync();
        await page.WaitForURLAsync("**/tasks/new");
        await Assertions.Expect(page.Locator("[data-testid=skip-link]")).ToBeFocusedAsync();
    }
}
