using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>The knowledge page as a person uses it, and sources in the chat: hits of a search live, citations as links.</summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class KnowledgePageTests(EmbeddedBackboneFixture fixture)
{
    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    [Fact]
    public async Task APersonCreatesACollectionUploadsDocumentsSeesTheirStatusAndFindsAPassage()
    {
        var name = $"manuals-{Guid.NewGuid():N}"[..16];
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, "/knowledge");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=semantic-off]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=collection][data-name=osiris-docs]")).ToBeVisibleAsync();

        await page.Locator("[data-testid=collection-name]").FillAsync(name);
        await page.Locator("[data-testid=collection-create]").ClickAsync();
        await Assertions.Expect(page.Locator($"[data-testid=documents][data-collection='{name}']")).ToBeVisibleAsync();

        await page.Locator("[data-testid=upload-input]").SetInputFilesAsync(new FilePayload[]
        {
            new() { Name = "router.md", MimeType = "text/markdown", Buffer = Encoding.UTF8.GetBytes("# Router X200\n## Factory reset\nHold the pinhole button for ten seconds until the kiwilight blinks.") },
            new() { Name = "broken.pdf", MimeType = "application/pdf", Buffer = Encoding.ASCII.GetBytes("%PDF-1.7\nnot a real PDF") },
        });
        await Assertions.Expect(page.Locator("[data-testid=document][data-name='router.md']")).ToHaveAttributeAsync("data-status", "ready", new() { Timeout = 30_000 });
        var broken = page.Locator("[data-testid=document][data-name='broken.pdf']");
        await Assertions.Expect(broken).ToHaveAttributeAsync("data-status", "failed", new() { Timeout = 30_000 });
        await Assertions.Expect(broken.Locator("[data-testid=document-error]")).ToContainTextAsync("The PDF could not be read");

        await page.Locator("[data-testid=knowledge-query]").FillAsync("kiwilight factory reset");
        await page.Locator("[data-testid=knowledge-search-submit]").ClickAsync();
        var hit = page.Locator("[data-testid=knowledge-hit]").First;
        await Assertions.Expect(hit).ToContainTextAsync("router.md › Router X200 › Factory reset");
        await Assertions.Expect(hit.Locator("mark").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=search-mode]")).ToHaveTextAsync(SearchModes.Lexical);
        await Screenshots.SaveAsync(page, "knowledge.png", forReadme: true);

        // The hit opens the document at the passage.
        var sourceId = (await hit.GetAttributeAsync("data-source-id"))!;
        await hit.Locator("a.hit-source").ClickAsync();
        await Assertions.Expect(page.Locator($"[data-testid=chunk][data-source-id='{sourceId}']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=document-title]")).ToHaveTextAsync("router.md");
    }

    [Fact]
    public async Task ASearchsHitsShowLiveInTheChatAndCitationsOpenTheirPassage()
    {
        var search = (await fixture.Api.GetFromJsonAsync<KnowledgeSearchResult>(
            $"/api/v1/knowledge/search?q={Uri.EscapeDataString("bubblewrap sandbox")}&limit=2", OsirisJson.Options, TestContext.Current.CancellationToken))!;
        var source = search.Hits[0].SourceId;
        var task = await fixture.CreateTaskAsync("How is run_command sandboxed?");
        var events = new TaskEvents(fixture, task.Id);

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);

        await events.PublishAsync(EventTypes.NewMessage, new NewMessagePayload(Guid.NewGuid(), "assistant", "tool_call",
            "search_knowledge {\"query\":\"bubblewrap sandbox\"}", null, true, "offline-echo"));
        await events.PublishAsync(EventTypes.NewMessage, new NewMessagePayload(Guid.NewGuid(), "tool", "tool_result",
            string.Join("\n", search.Hits.Select(h => $"[{h.SourceId}] {h.Collection}: {h.TitlePath}")), null, true, null,
            Data: JsonSerializer.SerializeToElement(new { name = "search_knowledge", hits = search.Hits }, OsirisJson.Options)));
        await Assertions.Expect(page.Locator(".knowledge-hit")).ToHaveCountAsync(search.Hits.Count);
        await Assertions.Expect(page.Locator(".knowledge-hit").First).ToContainTextAsync(search.Hits[0].TitlePath);

        var answer = Guid.NewGuid();
        await events.MessageAsync(answer, $"Commands run under bubblewrap without network [{source}].");
        var citation = page.Locator($"[data-message-id='{answer}'] a.citation");
        await Assertions.Expect(citation).ToHaveTextAsync($"[{source}]");
        var (key, ordinal) = (source[..8], source[9..]);
        Assert.Equal($"/knowledge/documents/{key}#c-{ordinal}", await citation.GetAttributeAsync("href"));
        await citation.ClickAsync();
        await Assertions.Expect(page.Locator($"#c-{ordinal}")).ToBeInViewportAsync();
    }
}
