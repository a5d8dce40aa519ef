using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;
using Osiris.Tests.McpServer;

namespace Osiris.Tests.Knowledge;

/// <summary>search_knowledge through the protocol: citable hits, and a task's scope enforced by the server, not the model.</summary>
public sealed class SearchKnowledgeToolTests(SearchKnowledgeToolTests.Server server) : IClassFixture<SearchKnowledgeToolTests.Server>
{
    public sealed class Server() : McpServerHost;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SearchKnowledgeReturnsCitableHits()
    {
        await using var client = await server.ConnectAsync(Guid.NewGuid(), Ct);
        var result = await client.CallAsync("search_knowledge", new { query = "DNS rebinding Origin Host", limit = 3 });
        result.AssertSucceeded();
        var structured = result.Structured();
        Assert.Equal(SearchModes.Lexical, structured.GetProperty("mode").GetString());
        var first = structured.GetProperty("results")[0];
        Assert.Equal("mcp-server.md", first.GetProperty("document").GetString());
        Assert.EndsWith("Endpoint security", first.GetProperty("titlePath").GetString());
        Assert.Equal(CollectionNames.BuiltIn, first.GetProperty("collection").GetString());
        Assert.Contains("**", first.GetProperty("snippet").GetString());
        var sourceId = first.GetProperty("sourceId").GetString()!;
        Assert.Matches("^[0-9a-f]{8}-[0-9]+$", sourceId);
        var text = Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(result.Content[0]).Text;
        Assert.Contains($"[{sourceId}]", text);
        Assert.Contains("Cite the passages you use", text);
    }

    [Fact]
    public async Task ATaskSearchesOnlyTheCollectionsItMayAndAChannelTaskOnlyTheBuiltInDocs()
    {
        var (alpha, beta) = (await AddCollectionAsync("scope-alpha"), await AddCollectionAsync("scope-beta"));
        await AddDocumentAsync(alpha, "a.md", "# A\nThe cassowary guards the alpha vault.");
        await AddDocumentAsync(beta, "b.md", "# B\nThe cassowary guards the beta vault.");
        var scoped = await AddTaskAsync(TaskSources.Api, "scope-alpha");
        var everything = await AddTaskAsync(TaskSources.Api, null);
        var stranger = await AddTaskAsync(TaskSources.WhatsApp, null);
        await WaitForIndexingAsync();

        async Task<string[]> CollectionsSeenBy(Guid task, object arguments)
        {
            await using var client = await server.ConnectAsync(task, Ct);
            var result = await client.CallAsync("search_knowledge", arguments);
            result.AssertSucceeded();
            return result.Structured().GetProperty("results").EnumerateArray().Select(h => h.GetProperty("collection").GetString()!).Order().ToArray();
        }
        Assert.Equal(["scope-alpha", "scope-beta"], await CollectionsSeenBy(everything, new { query = "cassowary vault" }));
        Assert.Equal(["scope-alpha"], await CollectionsSeenBy(scoped, new { query = "cassowary vault" }));
        // Asking for another collection by name does not widen the task's scope.
        Assert.Empty(await CollectionsSeenBy(scoped, new { query = "cassowary vault", collections = new[] { "scope-beta" } }));
        Assert.Empty(await CollectionsSeenBy(stranger, new { query = "cassowary vault" }));
        Assert.Equal([CollectionNames.BuiltIn], (await CollectionsSeenBy(stranger, new { query = "sandbox bubblewrap" })).Distinct());
    }

    private async Task<T> WithDbAsync<T>(Func<OsirisDbContext, Task<T>> work)
    {
        // The server creates its database in the background after it starts.
        await server.Services.GetRequiredService<Osiris.McpServer.Knowledge.KnowledgeIndexer>().Ready.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await using var scope = server.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<OsirisDbContext>());
    }

    private Task<Guid> AddCollectionAsync(string name) => WithDbAsync(async db =>
    {
        var collection = new KnowledgeCollectionRecord { Id = Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        db.KnowledgeCollections.Add(collection);
        await db.SaveChangesAsync(Ct);
        return collection.Id;
    });

    private Task<int> AddDocumentAsync(Guid collection, string name, string text) => WithDbAsync(db =>
    {
        var content = System.Text.Encoding.UTF8.GetBytes(text);
        db.KnowledgeDocuments.Add(KnowledgeDocuments.New(collection, name, DocumentFormats.Markdown, content, KnowledgeDocuments.Hash(content), "test", DateTimeOffset.UtcNow));
        return db.SaveChangesAsync(Ct);
    });

    private Task<Guid> AddTaskAsync(string source, string? collections) => WithDbAsync(async db =>
    {
        var task = new TaskRecord
        {
            Id = Guid.NewGuid(), Title = "scope", Description = "", Source = source, Status = TaskStatuses.Running,
            CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow, KnowledgeCollections = collections,
        };
        db.Tasks.Add(task);
        await db.SaveChangesAsync(Ct);
        return task.Id;
    });

    /// <summary>The server's own indexer picks the documents up (it polls every second).</summary>
    private async Task WaitForIndexingAsync()
    {
        for (var i = 0; i < 100 && await WithDbAsync(db => db.KnowledgeDocuments.AnyAsync(d => d.Status == DocumentStatuses.Indexing, Ct)); i++)
        {
            await Task.Delay(100, Ct);
        }
        Assert.False(await WithDbAsync(db => db.KnowledgeDocuments.AnyAsync(d => d.Status == DocumentStatuses.Indexing, Ct)), "indexing finished within 10 s");
    }
}
