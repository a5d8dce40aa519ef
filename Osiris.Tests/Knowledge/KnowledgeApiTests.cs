using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Knowledge;

/// <summary>
/// The knowledge API against the running app (the MCP server indexes what the API stores): upload, status, search,
/// replace, delete, and what is refused — on SQLite and on PostgreSQL.
/// </summary>
public abstract class KnowledgeApiTests<TFixture>(TFixture fixture) where TFixture : BackboneFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<KnowledgeCollectionDto> CreateCollectionAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..24];
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/knowledge/collections", new CreateCollectionRequest(name, "test documents"), OsirisJson.Options, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<KnowledgeCollectionDto>(OsirisJson.Options, Ct))!;
    }

    private static MultipartFormDataContent Files(params (string Name, byte[] Content)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, content) in files)
        {
            var part = new ByteArrayContent(content);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "file", name);
        }
        return form;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private Task<HttpResponseMessage> UploadAsync(Guid collection, params (string Name, byte[] Content)[] files) =>
        fixture.Api.PostAsync($"/api/v1/knowledge/collections/{collection}/documents", Files(files), Ct);

    private async Task<List<KnowledgeDocumentDto>> SettledAsync(Guid collection)
    {
        for (var attempt = 0; ; attempt++)
        {
            var documents = (await fixture.Api.GetFromJsonAsync<List<KnowledgeDocumentDto>>($"/api/v1/knowledge/collections/{collection}/documents", OsirisJson.Options, Ct))!;
            if (documents.All(d => d.Status != DocumentStatuses.Indexing) || attempt == 150)
            {
                return documents;
            }
            await Task.Delay(200, Ct);
        }
    }

    private async Task<KnowledgeSearchResult> SearchAsync(string query, string collection) =>
        (await fixture.Api.GetFromJsonAsync<KnowledgeSearchResult>(
            $"/api/v1/knowledge/search?q={Uri.EscapeDataString(query)}&collections={collection}", OsirisJson.Options, Ct))!;

    [Fact]
    public async Task EachFormatUploadedIsFoundByItsWordsAndABrokenOneSaysWhy()
    {
        fixture.RequireAvailable();
        var collection = await CreateCollectionAsync("formats");
        using (var accepted = await UploadAsync(collection.Id,
            ("guide.md", Utf8("# Guide\n## Cables\nPlug the quokkacable into port four.")),
            ("runbook.txt", Utf8("DATABASE FAILOVER\n\nPromote the wombatreplica within five minutes.")),
            ("manual.html", Utf8("<!doctype html><html><body><nav>numbatnav</nav><h1>Router</h1><h2>Reset</h2><p>Hold the numbatbutton.</p></body></html>")),
            ("sheet.pdf", KnowledgeIndexTests.Pdf("Page one.", "Page two names the bilbyvalve."))))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var stored = (await accepted.Content.ReadFromJsonAsync<List<KnowledgeDocumentDto>>(OsirisJson.Options, Ct))!;
            Assert.Equal([DocumentFormats.Pdf, DocumentFormats.Html, DocumentFormats.Markdown, DocumentFormats.Text], stored.Select(d => d.ContentType).Order(StringComparer.Ordinal));
            Assert.All(stored, d => Assert.Equal(DocumentStatuses.Indexing, d.Status));
        }
        using (var broken = await UploadAsync(collection.Id, ("broken.pdf", Utf8("%PDF-1.7\nnot really a PDF"))))
        {
            Assert.Equal(HttpStatusCode.Accepted, broken.StatusCode);
        }

        var documents = await SettledAsync(collection.Id);
        Assert.Equal(5, documents.Count);
        var failed = Assert.Single(documents, d => d.Status == DocumentStatuses.Failed);
        Assert.Equal("broken.pdf", failed.Name);
        Assert.StartsWith("The PDF could not be read", failed.Error);
        Assert.All(documents.Where(d => d != failed), d => Assert.Equal(DocumentStatuses.Ready, d.Status));

        foreach (var (word, document, path) in new[]
        {
            ("quokkacable", "guide.md", "guide.md › Guide › Cables"), ("wombatreplica", "runbook.txt", "runbook.txt › DATABASE FAILOVER"),
            ("numbatbutton", "manual.html", "manual.html › Router › Reset"), ("bilbyvalve", "sheet.pdf", "sheet.pdf"),
        })
        {
            var hit = Assert.Single((await SearchAsync(word, collection.Name)).Hits);
            Assert.Equal((document, path, collection.Name), (hit.Document, hit.TitlePath, hit.Collection));
        }
        Assert.Empty((await SearchAsync("numbatnav", collection.Name)).Hits);

        // The cited source opens the document at that passage; the original downloads as it was uploaded.
        var pdf = documents.Single(d => d.Name == "sheet.pdf");
        var view = (await fixture.Api.GetFromJsonAsync<KnowledgeDocumentView>($"/api/v1/knowledge/documents/{pdf.Key}", OsirisJson.Options, Ct))!;
        Assert.Equal([1, 2], view.Chunks.Select(c => c.Page!.Value));
        Assert.Equal($"{pdf.Key}-1", view.Chunks[1].SourceId);
        using var download = await fixture.Api.GetAsync($"/api/v1/knowledge/documents/{pdf.Id}/content", Ct);
        Assert.Equal("application/pdf", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        Assert.StartsWith("%PDF-", Encoding.ASCII.GetString(await download.Content.ReadAsByteArrayAsync(Ct))[..5]);
    }

    [Fact]
    public async Task WhatIsNotADocumentIsRefusedWithAClearProblemAndNothingIsStored()
    {
        fixture.RequireAvailable();
        var collection = await CreateCollectionAsync("refusals");
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        var cases = new (Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string Detail)[]
        {
            (() => UploadAsync(collection.Id, ("notes.md", Utf8("# Fine")), ("photo.png", png)), HttpStatusCode.UnsupportedMediaType, "'photo.png' is not Markdown"),
            (() => UploadAsync(collection.Id, ("report.docx", [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0])), HttpStatusCode.UnsupportedMediaType, "'report.docx'"),
            (() => UploadAsync(collection.Id, ("huge.txt", new byte[DocumentFormats.DefaultMaxBytes + 1].Select(_ => (byte)'a').ToArray())), HttpStatusCode.RequestEntityTooLarge, "at most 20,971,520"),
            (() => UploadAsync(collection.Id, ("empty.md", [])), HttpStatusCode.BadRequest, "'empty.md' is empty"),
            (() => fixture.Api.PostAsync($"/api/v1/knowledge/collections/{collection.Id}/documents", new StringContent("{}", Encoding.UTF8, "application/json"), Ct),
                HttpStatusCode.UnsupportedMediaType, "multipart/form-data"),
        };
        foreach (var (send, status, detail) in cases)
        {
            using var response = await send();
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(detail, await response.Content.ReadAsStringAsync(Ct));
        }
        Assert.Empty(await SettledAsync(collection.Id));

        // The built-in docs are read-only; a viewer reads and searches but does not upload.
        var collections = (await fixture.Api.GetFromJsonAsync<List<KnowledgeCollectionDto>>("/api/v1/knowledge/collections", OsirisJson.Options, Ct))!;
        var builtIn = Assert.Single(collections, c => c.BuiltIn);
        Assert.Equal(CollectionNames.BuiltIn, builtIn.Name);
        using (var readOnly = await UploadAsync(builtIn.Id, ("mine.md", Utf8("# Mine"))))
        {
            Assert.Equal(HttpStatusCode.Conflict, readOnly.StatusCode);
        }
        using (var readOnly = await fixture.Api.DeleteAsync($"/api/v1/knowledge/collections/{builtIn.Id}", Ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, readOnly.StatusCode);
        }
        var viewerName = await People.CreateAsync(fixture.Api, "kbviewer", Roles.Viewer);
        using var viewer = People.Client(fixture.Api.BaseAddress!, (await People.SignInAsync(fixture.Api, viewerName)).Token);
        using (var forbidden = await viewer.PostAsync($"/api/v1/knowledge/collections/{collection.Id}/documents", Files(("a.md", Utf8("# A"))), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/v1/knowledge/search?q=sandbox", Ct)).StatusCode);
    }

    [Fact]
    public async Task AReuploadReplacesTheDocumentAndDeletesRemoveItFromSearch()
    {
        fixture.RequireAvailable();
        var collection = await CreateCollectionAsync("lifecycle");
        (await UploadAsync(collection.Id, ("notes.md", Utf8("# Notes\nThe kakapo is a parrot.")), ("other.md", Utf8("# Other\nThe kea is a parrot.")))).EnsureSuccessStatusCode();
        var first = await SettledAsync(collection.Id);
        (await UploadAsync(collection.Id, ("notes.md", Utf8("# Notes\nThe takahe is a rail.")))).EnsureSuccessStatusCode();
        var second = await SettledAsync(collection.Id);
        Assert.Equal(first.Single(d => d.Name == "notes.md").Key, second.Single(d => d.Name == "notes.md").Key);
        Assert.Empty((await SearchAsync("kakapo", collection.Name)).Hits);
        Assert.Single((await SearchAsync("takahe", collection.Name)).Hits);

        var other = second.Single(d => d.Name == "other.md");
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Api.DeleteAsync($"/api/v1/knowledge/documents/{other.Id}", Ct)).StatusCode);
        Assert.Empty((await SearchAsync("kea", collection.Name)).Hits);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Api.GetAsync($"/api/v1/knowledge/documents/{other.Key}", Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Api.DeleteAsync($"/api/v1/knowledge/collections/{collection.Id}", Ct)).StatusCode);
        Assert.Empty((await SearchAsync("takahe", collection.Name)).Hits);
        var collections = (await fixture.Api.GetFromJsonAsync<List<KnowledgeCollectionDto>>("/api/v1/knowledge/collections", OsirisJson.Options, Ct))!;
        Assert.DoesNotContain(collections, c => c.Id == collection.Id);
    }

    [Fact]
    public async Task ATaskNamesTheCollectionsItsAgentMaySearch()
    {
        fixture.RequireAvailable();
        var collection = await CreateCollectionAsync("scoped");
        using var created = await fixture.Api.PostAsJsonAsync("/api/v1/tasks",
            new { title = "scoped", description = "", brain = "offline", knowledgeCollections = new[] { collection.Name, CollectionNames.BuiltIn } }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var task = (await created.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        Assert.Equal(new[] { collection.Name, CollectionNames.BuiltIn }.Order(), task.KnowledgeCollections!.Order());

        using var unknown = await fixture.Api.PostAsJsonAsync("/api/v1/tasks",
            new { title = "scoped", description = "", knowledgeCollections = new[] { "no-such-collection" } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("'no-such-collection'", await unknown.Content.ReadAsStringAsync(Ct));

        var status = (await fixture.Api.GetFromJsonAsync<KnowledgeStatusDto>("/api/v1/knowledge/status", OsirisJson.Options, Ct))!;
        Assert.False(status.Semantic);
        Assert.Equal(DocumentFormats.DefaultMaxBytes, status.MaxDocumentBytes);
        Assert.True(status.Chunks > 0, "the built-in docs are indexed");
    }

    [Fact]
    public async Task AChannelTaskSearchesOnlyWhatItsSendersTrustLevelAllows()
    {
        fixture.RequireAvailable();
        var collection = await CreateCollectionAsync("public");
        var original = (await fixture.Api.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, Ct))!;
        async Task<string?> ScopeOfANewStrangersTaskAsync()
        {
            var waId = "49" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999);
            using var response = await fixture.Api.SendAsync(Payloads.WhatsAppPost(
                Payloads.WhatsAppText("wamid." + Guid.NewGuid().ToString("N"), waId, "Stranger", "What do your manuals say?")), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var db = fixture.CreateDbContext();
            return await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(
                db.Tasks.Where(t => t.ReplyAddress == waId).Select(t => t.KnowledgeCollections), Ct);
        }
        try
        {
            Assert.Equal(CollectionNames.BuiltIn, await ScopeOfANewStrangersTaskAsync());

            var widened = original with { Levels = original.Levels with { Unknown = original.Levels.Unknown with { KnowledgeCollections = [collection.Name] } } };
            (await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", widened, OsirisJson.Options, Ct)).EnsureSuccessStatusCode();
            Assert.Equal(collection.Name, await ScopeOfANewStrangersTaskAsync());

            var invalid = original with { Levels = original.Levels with { Unknown = original.Levels.Unknown with { KnowledgeCollections = ["Not A Name!"] } } };
            using var refused = await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", invalid, OsirisJson.Options, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
        finally
        {
            (await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", original, OsirisJson.Options, Ct)).EnsureSuccessStatusCode();
        }
    }
}

[Collection(LocalBackbone.Name)]
public sealed class KnowledgeApiOnPostgres(LocalBackboneFixture fixture) : KnowledgeApiTests<LocalBackboneFixture>(fixture);

[Collection(EmbeddedBackbone.Name)]
public sealed class KnowledgeApiOnSqlite(EmbeddedBackboneFixture fixture) : KnowledgeApiTests<EmbeddedBackboneFixture>(fixture);
