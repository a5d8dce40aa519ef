using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Osiris.McpServer.Knowledge;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Knowledge;

/// <summary>
/// The knowledge base in process, as the MCP server and the API wire it (storage, search, embeddings, the indexer),
/// on a database of the test's choosing. Disposing and starting another on the same database is a restart.
/// </summary>
public sealed class KnowledgeHarness : IAsyncDisposable
{
    private readonly IHost _host;

    private KnowledgeHarness(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;
    public KnowledgeIndexer Indexer => _host.Services.GetRequiredService<KnowledgeIndexer>();

    public static async Task<KnowledgeHarness> StartAsync(string connectionString, string? docsFolder = null,
        IDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:osiris"] = connectionString,
            ["Knowledge:Folder"] = docsFolder ?? Path.Combine(Repository.Root, "docs"),
            ["Knowledge:MaxChunkChars"] = "1600",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.AddKnowledgeIndexing();
        var host = builder.Build();
        await host.Services.MigrateOsirisDatabaseAsync();
        return new KnowledgeHarness(host);
    }

    /// <summary>What the server does before taking calls, then every embedding batch there is.</summary>
    public async Task IndexAllAsync(CancellationToken ct)
    {
        await Indexer.CatchUpAsync(ct);
        while (await Indexer.IndexNextAsync(ct) | await Indexer.EmbedNextAsync(ct))
        {
        }
    }

    public async Task<KnowledgeSearchResult> SearchAsync(string query, IReadOnlyList<string>? collections = null, int limit = 5)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<KnowledgeSearch>().SearchAsync(query, collections, limit, TestContext.Current.CancellationToken);
    }

    public async Task<T> WithDbAsync<T>(Func<OsirisDbContext, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<OsirisDbContext>());
    }

    public Task<Guid> AddCollectionAsync(string name) => WithDbAsync(async db =>
    {
        var collection = new KnowledgeCollectionRecord { Id = Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        db.KnowledgeCollections.Add(collection);
        await db.SaveChangesAsync();
        return collection.Id;
    });

    public Task<KnowledgeDocumentRecord> AddDocumentAsync(Guid collection, string name, string contentType, byte[] content) => WithDbAsync(async db =>
    {
        var document = KnowledgeDocuments.New(collection, name, contentType, content, KnowledgeDocuments.Hash(content), "test", DateTimeOffset.UtcNow);
        db.KnowledgeDocuments.Add(document);
        await db.SaveChangesAsync();
        return document;
    });

    public Task<KnowledgeDocumentRecord> AddDocumentAsync(Guid collection, string name, string text) =>
        AddDocumentAsync(collection, name, name.EndsWith(".md", StringComparison.Ordinal) ? DocumentFormats.Markdown : DocumentFormats.Text,
            System.Text.Encoding.UTF8.GetBytes(text));

    public async ValueTask DisposeAsync()
    {
        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }
}
