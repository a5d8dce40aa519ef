using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;

namespace Osiris.Tests.Knowledge;

/// <summary>
/// Semantic and fused search against local servers speaking OpenAI's and Gemini's embedding APIs (and refusing what
/// those refuse). The servers' vectors come from a small concept table, so a paraphrase and its passage land near each
/// other without sharing a word.
/// </summary>
public sealed class SemanticSearchTests : IAsyncLifetime
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-semantic-" + Guid.NewGuid().ToString("N"));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[][] Concepts =
    [
        ["refund", "money back", "reimburse"],
        ["defective", "faulty", "fell apart", "broken"],
        ["goods", "item", "boots", "product"],
        ["backup", "back up", "snapshot"],
        ["parcel", "shipping", "delivery"],
    ];

    /// <summary>One dimension per concept a text mentions, and a faint trace of its other words.</summary>
    private static float[] Embed(string text)
    {
        var lower = text.ToLowerInvariant();
        var vector = new float[64];
        for (var i = 0; i < Concepts.Length; i++)
        {
            vector[i] = Concepts[i].Any(lower.Contains) ? 1f : 0f;
        }
        foreach (var word in lower.Split([' ', '\n', '.', ',', '#', '?', '—'], StringSplitOptions.RemoveEmptyEntries))
        {
            vector[32 + (int)((uint)word.GetHashCode(StringComparison.Ordinal) % 32)] += 0.05f;
        }
        return vector;
    }

    private const string Paraphrase = "my boots fell apart, can I get my money back?";

    public ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_temp, "docs"));
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_temp, recursive: true);
        return ValueTask.CompletedTask;
    }

    private Task<KnowledgeHarness> StartAsync(FakeEmbeddingServer? server) => KnowledgeHarness.StartAsync(
        $"Data Source={Path.Combine(_temp, "osiris.db")}", Path.Combine(_temp, "docs"), server is null ? null : new Dictionary<string, string?>
        {
            ["Knowledge:Embeddings:Provider"] = server.Provider == FakeEmbeddingProvider.OpenAI ? "openai" : "gemini",
            ["Knowledge:Embeddings:Endpoint"] = server.Endpoint.ToString(),
            ["Knowledge:Embeddings:ApiKey"] = server.ApiKey,
            ["Knowledge:Embeddings:Dimensions"] = server.Provider == FakeEmbeddingProvider.OpenAI ? "256" : "768",
            ["Knowledge:Embeddings:BatchSize"] = "2",
        });

    [Theory]
    [InlineData(FakeEmbeddingProvider.OpenAI)]
    [InlineData(FakeEmbeddingProvider.Gemini)]
    public async Task FusedSearchFindsAPassageByItsParaphraseAndLexicalStillWorksWithoutIt(FakeEmbeddingProvider provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(provider, Embed);
        await using (var kb = await StartAsync(server))
        {
            var shop = await kb.AddCollectionAsync("shop");
            await kb.AddDocumentAsync(shop, "returns.md", "# Returns\n## Defective goods\nIf an item is defective we refund the full price within 24 months.");
            await kb.AddDocumentAsync(shop, "operations.md", "# Operations\n## Nightly backups\nWe back up the shop database every night at two.");
            await kb.AddDocumentAsync(shop, "shipping.md", "# Shipping\nEvery parcel leaves the warehouse within two days.");
            await kb.IndexAllAsync(Ct);

            var embedded = await kb.WithDbAsync(db => db.KnowledgeChunks.Select(c => c.EmbeddingModel).ToListAsync(Ct));
            Assert.Equal(3, embedded.Count);
            Assert.All(embedded, model => Assert.StartsWith(provider == FakeEmbeddingProvider.OpenAI ? "openai:text-embedding-3-small" : "gemini:gemini-embedding-001", model));

            var fused = await kb.SearchAsync(Paraphrase, limit: 3);
            Assert.Equal(SearchModes.Fused, fused.Mode);
            Assert.Null(fused.Notice);
            // Found by meaning alone (no word of it is in the question); fusion ranks it beside the best match by words.
            var found = Assert.Single(fused.Hits, h => h.Document == "returns.md");
            Assert.Equal("returns.md › Returns › Defective goods", found.TitlePath);
            Assert.Equal([SearchModes.Semantic], found.MatchedBy);
            var rank = fused.Hits.ToList().IndexOf(found) + 1;
            Assert.True(rank <= 2, $"the paraphrased passage ranks {rank}");

            // When the provider fails, search still answers — by words — and says why.
            server.Failing = true;
            var degraded = await kb.SearchAsync(Paraphrase, limit: 3);
            Assert.Equal(SearchModes.Lexical, degraded.Mode);
            Assert.Contains("Semantic search failed", degraded.Notice);
            server.Failing = false;
        }

        Assert.Empty(server.Rejections);
        Assert.True(server.Inputs >= 4, $"the server embedded {server.Inputs} texts");
        Assert.DoesNotContain(server.Urls, url => url.Contains("key=", StringComparison.OrdinalIgnoreCase));

        // The same index without a provider: words alone miss the paraphrase's passage, but find it by its own words.
        await using var lexicalOnly = await StartAsync(null);
        var byWords = await lexicalOnly.SearchAsync(Paraphrase, limit: 3);
        Assert.Equal(SearchModes.Lexical, byWords.Mode);
        Assert.DoesNotContain(byWords.Hits, h => h.Document == "returns.md");
        Assert.Equal("returns.md", (await lexicalOnly.SearchAsync("defective refund")).Hits[0].Document);
    }

    [Fact]
    public async Task AChangedEmbeddingModelIsEmbeddedAgain()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(FakeEmbeddingProvider.OpenAI, Embed);
        await using (var kb = await StartAsync(server))
        {
            var shop = await kb.AddCollectionAsync("shop");
            await kb.AddDocumentAsync(shop, "returns.md", "# Returns\nWe refund defective goods.");
            await kb.IndexAllAsync(Ct);
        }
        var before = server.Inputs;
        await using var larger = await KnowledgeHarness.StartAsync($"Data Source={Path.Combine(_temp, "osiris.db")}", Path.Combine(_temp, "docs"),
            new Dictionary<string, string?>
            {
                ["Knowledge:Embeddings:Provider"] = "openai", ["Knowledge:Embeddings:Endpoint"] = server.Endpoint.ToString(),
                ["Knowledge:Embeddings:ApiKey"] = server.ApiKey, ["Knowledge:Embeddings:Model"] = "text-embedding-3-large",
            });
        await larger.IndexAllAsync(Ct);
        Assert.Equal(before + 1, server.Inputs);
        Assert.Equal("openai:text-embedding-3-large", await larger.WithDbAsync(db => db.KnowledgeChunks.Select(c => c.EmbeddingModel).SingleAsync(Ct)));
        Assert.Equal(SearchModes.Fused, (await larger.SearchAsync("money back")).Mode);
        Assert.Empty(server.Rejections);
    }
}
