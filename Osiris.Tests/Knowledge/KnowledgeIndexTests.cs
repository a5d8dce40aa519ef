using System.Text;
using Microsoft.EntityFrameworkCore;
using Osiris.McpServer.Knowledge;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Osiris.Tests.Knowledge;

/// <summary>The knowledge base on SQLite: reading each format, indexing, lexical search, deletes, restarts and the built-in docs.</summary>
public sealed class KnowledgeIndexTests : IAsyncLifetime
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-knowledge-" + Guid.NewGuid().ToString("N"));
    private KnowledgeHarness _kb = null!;

    private string Database => $"Data Source={Path.Combine(_temp, "osiris.db")}";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_temp);
        _kb = await KnowledgeHarness.StartAsync(Database);
        await _kb.IndexAllAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _kb.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_temp, recursive: true);
    }

    [Theory]
    [InlineData("how do I replay events after a reconnect with Last-Event-ID", "events.md", "Replay after a reconnect")]
    [InlineData("infrastructure mode auto containers local embedded", "infrastructure.md", "Infrastructure modes")]
    [InlineData("bubblewrap sandbox network process limits", "mcp-server.md", "The sandbox (run_command)")]
    [InlineData("X-Osiris-Task header workspace root", "mcp-server.md", "Workspaces")]
    [InlineData("awaiting_approval approve tool call", "tasks-api.md", "Approvals")]
    [InlineData("which project may reference ServiceDefaults boundaries", "architecture.md", "Boundaries")]
    public async Task TheShippedDocsAnswerKnownQuestions(string query, string document, string section)
    {
        var result = await _kb.SearchAsync(query, limit: 3);
        Assert.Equal(SearchModes.Lexical, result.Mode);
        Assert.Contains("no embedding provider", result.Notice);
        var first = result.Hits[0];
        Assert.Equal((document, section), (first.Document, first.TitlePath.Split(Chunker.PathSeparator)[^1]));
        Assert.Equal(CollectionNames.BuiltIn, first.Collection);
        Assert.StartsWith(document, first.TitlePath);
        Assert.Matches("^[0-9a-f]{8}-[0-9]+$", first.SourceId);
        Assert.Contains("**", first.Snippet);
        Assert.True(result.Hits.Zip(result.Hits.Skip(1)).All(p => p.First.Score >= p.Second.Score), "hits are ordered by score");
    }

    [Fact]
    public async Task QueriesAreWordsNotSearchSyntax()
    {
        var result = await _kb.SearchAsync("\"unbalanced AND (OR* NEAR/ -- ;DROP TABLE knowledge_chunks");
        Assert.NotNull(result.Hits);
        Assert.NotEmpty((await _kb.SearchAsync("sandboxes")).Hits);
        Assert.Empty((await _kb.SearchAsync("the of and")).Hits);
    }

    [Fact]
    public async Task EachFormatIsCutAlongItsStructureAndFoundByItsWords()
    {
        var collection = await _kb.AddCollectionAsync("formats");
        await _kb.AddDocumentAsync(collection, "guide.md", "# Guide\nIntro.\n## Setup\n### Cables\nPlug the quokkacable into port four.\n```\n# not a heading\n```\n");
        await _kb.AddDocumentAsync(collection, "runbook.txt", "ON-CALL RUNBOOK\n\nGeneral words.\n\nDATABASE FAILOVER\n\nPromote the wombatreplica within five minutes.\n");
        await _kb.AddDocumentAsync(collection, "manual.html", DocumentFormats.Html, Encoding.UTF8.GetBytes("""
            <!doctype html><html><head><title>Manual</title><style>.numbatstyle{}</style></head><body>
            <nav>Home numbatnav</nav><script>var numbatscript = 1;</script><div hidden>numbathidden</div>
            <h1>Router</h1><h2>Factory reset</h2><p>Hold the numbatbutton for ten seconds.</p>
            <table><tr><td>LED</td><td>platypusamber</td></tr></table></body></html>
            """));
        await _kb.AddDocumentAsync(collection, "sheet.pdf", DocumentFormats.Pdf, Pdf("Page one talks about echidnas.", "Page two names the bilbyvalve."));
        await _kb.IndexAllAsync(Ct);

        async Task<KnowledgeHit> Find(string word)
        {
            var hits = (await _kb.SearchAsync(word, ["formats"])).Hits;
            return Assert.Single(hits);
        }
        Assert.Equal("guide.md › Guide › Setup › Cables", (await Find("quokkacable")).TitlePath);
        Assert.Equal("runbook.txt › DATABASE FAILOVER", (await Find("wombatreplica")).TitlePath);
        Assert.Equal("manual.html › Router › Factory reset", (await Find("numbatbutton")).TitlePath);
        Assert.Contains("platypusamber", (await Find("platypusamber")).Snippet);
        var page = await Find("bilbyvalve");
        Assert.Equal((2, "sheet.pdf"), (page.Page!.Value, page.TitlePath));
        // What a browser never shows is not indexed: scripts, styles and navigation.
        Assert.Empty((await _kb.SearchAsync("numbatscript numbatnav numbatstyle numbathidden", ["formats"])).Hits);
        var documents = await _kb.WithDbAsync(db => db.KnowledgeDocuments.Where(d => d.CollectionId == collection).ToListAsync(Ct));
        Assert.All(documents, d => Assert.Equal(DocumentStatuses.Ready, d.Status));
        Assert.Equal(2, documents.Single(d => d.Name == "sheet.pdf").Pages);
    }

    [Fact]
    public async Task ADocumentThatCannotBeReadFailsWithItsReasonAndTheOthersStillIndex()
    {
        var collection = await _kb.AddCollectionAsync("broken");
        var broken = await _kb.AddDocumentAsync(collection, "broken.pdf", DocumentFormats.Pdf, Encoding.ASCII.GetBytes("%PDF-1.7\nthis is not a pdf at all"));
        var scanned = await _kb.AddDocumentAsync(collection, "scanned.pdf", DocumentFormats.Pdf, Pdf());
        var latin1 = await _kb.AddDocumentAsync(collection, "latin1.txt", DocumentFormats.Text, [0x63, 0x61, 0x66, 0xE9]);
        await _kb.AddDocumentAsync(collection, "fine.md", "# Fine\nThe dugong grazes on seagrass.");
        await _kb.IndexAllAsync(Ct);

        var documents = await _kb.WithDbAsync(db => db.KnowledgeDocuments.Where(d => d.CollectionId == collection).ToDictionaryAsync(d => d.Id, Ct));
        Assert.Equal(DocumentStatuses.Failed, documents[broken.Id].Status);
        Assert.StartsWith("The PDF could not be read", documents[broken.Id].Error);
        Assert.Equal(DocumentStatuses.Failed, documents[scanned.Id].Status);
        Assert.Contains("no text layer", documents[scanned.Id].Error);
        Assert.Equal(DocumentStatuses.Failed, documents[latin1.Id].Status);
        Assert.Contains("not valid UTF-8", documents[latin1.Id].Error);
        Assert.Single((await _kb.SearchAsync("dugong")).Hits);
    }

    [Fact]
    public async Task HostileDocumentsAreReadWithoutHarm()
    {
        var collection = await _kb.AddCollectionAsync("hostile");
        // Deep nesting is read (the words at the bottom are found); nesting deep enough to exhaust a recursive reader's
        // stack is refused with its reason, and the indexer lives on.
        static byte[] Nested(int depth, string words) => Encoding.UTF8.GetBytes("<!doctype html><html><body><h1>Deep</h1>" +
            string.Concat(Enumerable.Repeat("<div>", depth)) + $"<p>{words}</p>" + string.Concat(Enumerable.Repeat("</div>", depth)) + "</body></html>");
        await _kb.AddDocumentAsync(collection, "deep.html", DocumentFormats.Html, Nested(300, "The wallaby hides at the bottom."));
        var abyss = await _kb.AddDocumentAsync(collection, "abyss.html", DocumentFormats.Html, Nested(200_000, "The quokka is never reached."));
        // Scripts without letter case have no capitals: their short lines are text, not headings.
        await _kb.AddDocumentAsync(collection, "notes.txt", "会议记录\n\n袋鼠在澳大利亚 numbatcjk.\n\nFINAL NOTES\n\nThe end.");
        await _kb.IndexAllAsync(Ct);

        Assert.Equal("deep.html › Deep", Assert.Single((await _kb.SearchAsync("wallaby", ["hostile"])).Hits).TitlePath);
        var refused = await _kb.WithDbAsync(db => db.KnowledgeDocuments.SingleAsync(d => d.Id == abyss.Id, Ct));
        Assert.Equal(DocumentStatuses.Failed, refused.Status);
        Assert.Contains("nested more than 1,000", refused.Error);
        Assert.Equal("notes.txt", Assert.Single((await _kb.SearchAsync("numbatcjk", ["hostile"])).Hits).TitlePath);
    }

    [Fact]
    public async Task DeletingADocumentRemovesItFromResults()
    {
        var collection = await _kb.AddCollectionAsync("deletes");
        var doomed = await _kb.AddDocumentAsync(collection, "doomed.md", "# Doomed\nThe kakapo is a flightless parrot.");
        await _kb.AddDocumentAsync(collection, "kept.md", "# Kept\nThe kea is a clever parrot.");
        await _kb.IndexAllAsync(Ct);
        Assert.Equal(2, (await _kb.SearchAsync("parrot")).Hits.Count);

        await _kb.WithDbAsync(async db => { await KnowledgeDocuments.DeleteAsync(db, doomed.Id, Ct); return 0; });

        Assert.Equal("kept.md", Assert.Single((await _kb.SearchAsync("parrot")).Hits).Document);
        Assert.Empty((await _kb.SearchAsync("kakapo")).Hits);
    }

    [Fact]
    public async Task ARestartKeepsTheIndexAndFinishesWhatAStoppedIndexerLeft()
    {
        var collection = await _kb.AddCollectionAsync("durable");
        await _kb.AddDocumentAsync(collection, "before.md", "# Before\nThe quoll hunts at night.");
        await _kb.IndexAllAsync(Ct);
        // A document claimed by an indexer that then died: its claim ran out a minute ago.
        var orphan = await _kb.AddDocumentAsync(collection, "orphan.md", "# Orphan\nThe bandicoot digs for grubs.");
        await _kb.WithDbAsync(db => db.KnowledgeDocuments.Where(d => d.Id == orphan.Id).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.ClaimedBy, "crashed:1").SetProperty(d => d.ClaimedUntil, DateTimeOffset.UtcNow.AddMinutes(-1)), Ct));
        await _kb.DisposeAsync();

        _kb = await KnowledgeHarness.StartAsync(Database);
        Assert.Equal("before.md", Assert.Single((await _kb.SearchAsync("quoll")).Hits).Document);
        Assert.Empty((await _kb.SearchAsync("bandicoot")).Hits);
        await _kb.IndexAllAsync(Ct);
        Assert.Equal("orphan.md", Assert.Single((await _kb.SearchAsync("bandicoot")).Hits).Document);
    }

    [Fact]
    public async Task TheBuiltInCollectionFollowsItsFolder()
    {
        var docs = Path.Combine(_temp, "docs");
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, "alpha.md"), "# Alpha\nThe quokka lives on Rottnest island.\n");
        await using var kb = await KnowledgeHarness.StartAsync($"Data Source={Path.Combine(_temp, "folder.db")}", docs);
        await kb.IndexAllAsync(Ct);
        var first = Assert.Single((await kb.SearchAsync("quokka")).Hits);

        File.WriteAllText(Path.Combine(docs, "alpha.md"), "# Alpha\nThe numbat lives in Western Australia.\n");
        File.WriteAllText(Path.Combine(docs, "beta.txt"), "Platypus notes: the platypus lays eggs.");
        await kb.IndexAllAsync(Ct);
        Assert.Empty((await kb.SearchAsync("quokka")).Hits);
        var changed = Assert.Single((await kb.SearchAsync("numbat")).Hits);
        Assert.Equal(first.DocumentId, changed.DocumentId); // same document, same key: earlier citations still open it
        Assert.Equal("beta.txt", Assert.Single((await kb.SearchAsync("platypus eggs")).Hits).Document);

        File.Delete(Path.Combine(docs, "beta.txt"));
        await kb.IndexAllAsync(Ct);
        Assert.Empty((await kb.SearchAsync("platypus")).Hits);
    }

    [Fact]
    public async Task SearchReadsOnlyTheCollectionsItIsGiven()
    {
        var alpha = await _kb.AddCollectionAsync("alpha");
        var beta = await _kb.AddCollectionAsync("beta");
        await _kb.AddDocumentAsync(alpha, "a.md", "# A\nThe cassowary guards the alpha vault.");
        await _kb.AddDocumentAsync(beta, "b.md", "# B\nThe cassowary guards the beta vault.");
        await _kb.IndexAllAsync(Ct);

        Assert.Equal(2, (await _kb.SearchAsync("cassowary")).Hits.Count);
        Assert.Equal("alpha", Assert.Single((await _kb.SearchAsync("cassowary", ["alpha"])).Hits).Collection);
        Assert.Empty((await _kb.SearchAsync("cassowary", [])).Hits);
        Assert.Empty((await _kb.SearchAsync("cassowary", ["gamma"])).Hits);

        // A task's scope narrows; a caller's own filter can narrow it further but never widen it.
        Assert.Equal(["alpha"], KnowledgeScopes.Narrow(["alpha"], ["alpha", "beta"]));
        Assert.Null(KnowledgeScopes.AllowedFor(TaskSources.Api, null));
        Assert.Equal([CollectionNames.BuiltIn], KnowledgeScopes.AllowedFor(TaskSources.WhatsApp, null));
        Assert.Null(KnowledgeScopes.AllowedFor(TaskSources.Email, "*"));
        Assert.Equal(["alpha", "beta"], KnowledgeScopes.AllowedFor(TaskSources.Email, KnowledgeScopes.Format(["beta", "alpha"])));
    }

    /// <summary>A PDF with one page per text (no text: one blank page, as a scan without a text layer looks).</summary>
    internal static byte[] Pdf(params string[] pages)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        foreach (var text in pages.DefaultIfEmpty(null))
        {
            var page = builder.AddPage(PageSize.A4);
            if (text is not null)
            {
                page.AddText(text, 12, new PdfPoint(50, 700), font);
            }
        }
        return builder.Build();
    }
}
