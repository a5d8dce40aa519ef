using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Osiris.McpServer.Knowledge;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Osiris.Benchmarks;

/// <summary>
/// The knowledge base, in process on the database of the mode (a SQLite file, or the local PostgreSQL the AppHost starts,
/// with the MCP server stopped so only this process indexes):
/// quality — recall@5 and MRR of the evaluation set (eval/knowledge: questions over the shipped docs and sample
/// documents) for lexical, semantic and fused search, the last two only when <c>Knowledge__Embeddings__*</c> name a
/// provider; indexing throughput — PDF pages and Markdown passages per second; query latency p50/p99 over a corpus of
/// <c>--chunks</c> passages (10,000); exact vector search over <c>--vectors</c> stored vectors (100,000, 768 dimensions).
/// </summary>
public static class KnowledgeBenchmark
{
    private sealed record Question(string Text, string Document, string Section, string Kind);

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var chunks = (int)options.Number("chunks", 10_000);
        var vectors = (int)options.Number("vectors", 100_000);
        var pdfPages = (int)options.Number("pages", 300);
        var root = RepositoryRoot();
        Console.WriteLine($"OSIRIS knowledge benchmark: mode {options.Mode}, {chunks:N0} passages for query latency, {vectors:N0} vectors, {pdfPages} PDF pages; " +
                          $"synthetic text from a vocabulary of {Vocabulary.Length:N0} words");

        DistributedApplication? app = null;
        string database;
        var dataDir = Directory.CreateTempSubdirectory("osiris-bench-knowledge-").FullName;
        if (options.Mode == "local")
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
                ["--Osiris:Infrastructure=local", $"--Osiris:DataDir={dataDir}"]);
            builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
            app = await builder.BuildAsync();
            await app.StartAsync();
            await app.ResourceNotifications.WaitForResourceHealthyAsync("mcpserver");
            await app.ResourceCommands.ExecuteCommandAsync("mcpserver", Aspire.Hosting.ApplicationModel.KnownResourceCommands.StopCommand);
            database = (await app.GetConnectionStringAsync("postgres"))!; // the local mode names its server resource so; it points at the osiris database
        }
        else
        {
            database = $"Data Source={Path.Combine(dataDir, "osiris.db")}";
        }

        try
        {
            using var host = await StartAsync(database, Path.Combine(root, "docs"));
            var indexer = host.Services.GetRequiredService<KnowledgeIndexer>();
            var embeddings = host.Services.GetRequiredService<KnowledgeEmbeddings>();
            Console.WriteLine(embeddings.Generator is null
                ? "embedding provider: none configured (Knowledge__Embeddings__Provider unset) — semantic and fused search are not measured; no model is faked"
                : $"embedding provider: {embeddings.Options.Signature}");

            // Quality: the shipped docs (built-in collection) and the sample documents, as a person would upload them.
            var clock = Stopwatch.StartNew();
            await indexer.CatchUpAsync(default);
            var samples = await AddCollectionAsync(host, "eval-samples");
            foreach (var file in Directory.GetFiles(Path.Combine(root, "eval", "knowledge", "docs")))
            {
                var type = Path.GetExtension(file) switch { ".md" => DocumentFormats.Markdown, ".html" => DocumentFormats.Html, ".pdf" => DocumentFormats.Pdf, _ => DocumentFormats.Text };
                await AddDocumentAsync(host, samples, Path.GetFileName(file), type, await File.ReadAllBytesAsync(file));
            }
            await DrainAsync(indexer, embeddings.Generator is not null);
            Console.WriteLine($"evaluation corpus indexed in {clock.Elapsed.TotalSeconds:F1} s ({await CountAsync(host):N0} passages)");

            var questions = JsonSerializer.Deserialize<JsonElement>(await File.ReadAllTextAsync(Path.Combine(root, "eval", "knowledge", "questions.json")))
                .EnumerateArray().Select(q => new Question(q.GetProperty("question").GetString()!, q.GetProperty("document").GetString()!,
                    q.GetProperty("section").GetString()!, q.GetProperty("kind").GetString()!)).ToList();
            Console.WriteLine();
            Console.WriteLine($"| search | questions | recall@5 | MRR | recall@5 lexical questions | recall@5 paraphrases |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var mode in embeddings.Generator is null ? [SearchModes.Lexical] : new[] { SearchModes.Lexical, SearchModes.Semantic, SearchModes.Fused })
            {
                var ranks = new List<(Question Q, int Rank)>();
                foreach (var question in questions)
                {
                    var result = await SearchAsync(host, question.Text, mode == SearchModes.Fused ? null : mode, 5);
                    var rank = result.Hits.Select((h, i) => (h, i)).FirstOrDefault(x =>
                        x.h.Document == question.Document && x.h.TitlePath.Split(Chunker.PathSeparator)[^1] == question.Section).i + 1;
                    ranks.Add((question, result.Hits.Any(h => h.Document == question.Document && h.TitlePath.Split(Chunker.PathSeparator)[^1] == question.Section) ? rank : 0));
                }
                double Recall(IEnumerable<(Question Q, int Rank)> set) => set.Count() == 0 ? 0 : set.Count(r => r.Rank > 0) / (double)set.Count();
                var mrr = ranks.Average(r => r.Rank > 0 ? 1.0 / r.Rank : 0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {mode} | {ranks.Count} | {Recall(ranks):F2} | {mrr:F2} | {Recall(ranks.Where(r => r.Q.Kind == "lexical")):F2} | {Recall(ranks.Where(r => r.Q.Kind == "paraphrase")):F2} |"));
            }
            if (embeddings.Generator is null)
            {
                Console.WriteLine("| semantic | — | not measured: no embedding provider configured | | | |");
                Console.WriteLine("| fused | — | not measured: no embedding provider configured | | | |");
            }

            // Indexing throughput: PDFs (pages per second) and Markdown (passages per second), read, cut and stored.
            Console.WriteLine();
            var pdfs = await AddCollectionAsync(host, "bench-pdf");
            var perPdf = 10;
            for (var d = 0; d < Math.Max(1, pdfPages / perPdf); d++)
            {
                await AddDocumentAsync(host, pdfs, $"report-{d}.pdf", DocumentFormats.Pdf, Pdf(d, perPdf));
            }
            clock.Restart();
            await DrainAsync(indexer, embed: false);
            var pdfSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"indexing PDF: {pdfPages / pdfSeconds:F0} pages/s ({pdfPages} pages of ~1,500 characters in {pdfSeconds:F1} s)"));

            var corpus = await AddCollectionAsync(host, "bench-corpus");
            var before = await CountAsync(host);
            var perDocument = 50;
            for (var d = 0; d < chunks / perDocument; d++)
            {
                await AddDocumentAsync(host, corpus, $"manual-{d}.md", DocumentFormats.Markdown, Encoding.UTF8.GetBytes(Markdown(d, perDocument)));
            }
            clock.Restart();
            await DrainAsync(indexer, embed: false);
            var added = await CountAsync(host) - before;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"indexing Markdown: {added / clock.Elapsed.TotalSeconds:F0} passages/s ({added:N0} passages in {clock.Elapsed.TotalSeconds:F1} s)"));

            // Query latency over the corpus: the first query after start (cold), then many (warm).
            var words = Vocabulary;
            var random = new Random(7);
            clock.Restart();
            await SearchAsync(host, "firmware rollback procedure", SearchModes.Lexical, 5, ["bench-corpus"]);
            var cold = clock.Elapsed.TotalMilliseconds;
            var latencies = new List<double>();
            for (var i = 0; i < 300; i++)
            {
                var query = string.Join(' ', Enumerable.Range(0, 4).Select(_ => words[random.Next(words.Length)]));
                clock.Restart();
                await SearchAsync(host, query, SearchModes.Lexical, 5, ["bench-corpus"]);
                latencies.Add(clock.Elapsed.TotalMilliseconds);
            }
            latencies.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"lexical query over {added:N0} passages: p50 {latencies[latencies.Count / 2]:F2} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F2} ms, first (cold) {cold:F1} ms"));

            await VectorSearchAsync(host, vectors);
            return 0;
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>Exact nearest-neighbour search as <see cref="VectorIndex"/> does it, over stored random unit vectors (no model involved).</summary>
    private static async Task VectorSearchAsync(IHost host, int count)
    {
        const int dimensions = 768;
        var random = new Random(11);
        float[] Vector() => Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var collection = await AddCollectionAsync(host, "bench-vectors");
        var document = await AddDocumentAsync(host, collection, "vectors.txt", DocumentFormats.Text, "vectors"u8.ToArray(), DocumentStatuses.Ready);
        var clock = Stopwatch.StartNew();
        for (var written = 0; written < count; written += 2_000)
        {
            await using var scope = host.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            db.KnowledgeChunks.AddRange(Enumerable.Range(written, Math.Min(2_000, count - written)).Select(i => new KnowledgeChunkRecord
            {
                DocumentId = document, CollectionId = collection, Ordinal = i, TitlePath = "vectors.txt", Text = "v", Embedding = Vectors.ToBytes(Vector()), EmbeddingModel = "bench:768",
            }));
            await db.SaveChangesAsync();
        }
        Console.WriteLine($"{count:N0} vectors of {dimensions} dimensions stored in {clock.Elapsed.TotalSeconds:F1} s");
        var index = new VectorIndex();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
            var collections = new HashSet<Guid> { collection };
            clock.Restart();
            await index.SearchAsync(db, "bench:768", Vector(), collections, 20, default);
            var load = clock.Elapsed.TotalMilliseconds;
            var latencies = new List<double>();
            for (var i = 0; i < 100; i++)
            {
                var query = Vector();
                clock.Restart();
                await index.SearchAsync(db, "bench:768", query, collections, 20, default);
                latencies.Add(clock.Elapsed.TotalMilliseconds);
            }
            latencies.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"exact vector search over {count:N0} vectors: p50 {latencies[50]:F2} ms, p99 {latencies[98]:F2} ms (the first search also loads them: {load:F0} ms)"));
        }
    }

    private static async Task<IHost> StartAsync(string connectionString, string docs)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:osiris"] = connectionString, ["Knowledge:Folder"] = docs });
        builder.Configuration.AddEnvironmentVariables();
        builder.Services.AddLogging(l => l.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        builder.AddKnowledgeIndexing();
        var host = builder.Build();
        await host.Services.MigrateOsirisDatabaseAsync();
        return host;
    }

    private static async Task DrainAsync(KnowledgeIndexer indexer, bool embed)
    {
        while (await indexer.IndexNextAsync(default) | (embed && await indexer.EmbedNextAsync(default)))
        {
        }
    }

    private static async Task<KnowledgeSearchResult> SearchAsync(IHost host, string query, string? only, int limit, IReadOnlyList<string>? collections = null)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<KnowledgeSearch>().SearchAsync(query, collections, limit, default, only);
    }

    private static async Task<int> CountAsync(IHost host)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<OsirisDbContext>().KnowledgeChunks.CountAsync();
    }

    private static async Task<Guid> AddCollectionAsync(IHost host, string name)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var existing = await db.KnowledgeCollections.Where(c => c.Name == name).Select(c => (Guid?)c.Id).SingleOrDefaultAsync();
        if (existing is { } id)
        {
            return id;
        }
        var collection = new KnowledgeCollectionRecord { Id = Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        db.KnowledgeCollections.Add(collection);
        await db.SaveChangesAsync();
        return collection.Id;
    }

    private static async Task<Guid> AddDocumentAsync(IHost host, Guid collection, string name, string type, byte[] content, string? status = null)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var document = KnowledgeDocuments.New(collection, name, type, content, KnowledgeDocuments.Hash(content), "benchmark", DateTimeOffset.UtcNow);
        document.Status = status ?? document.Status;
        db.KnowledgeDocuments.Add(document);
        await db.SaveChangesAsync();
        return document.Id;
    }

    /// <summary>The synthetic corpus speaks the words of OSIRIS's own docs (a few thousand), so a query matches some passages, not all.</summary>
    private static readonly string[] Vocabulary = Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs"), "*.md")
        .SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f).ToLowerInvariant(), "[a-z]{4,}").Select(m => m.Value))
        .Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>A manual of <paramref name="sections"/> sections of two paragraphs each (one passage per section).</summary>
    private static string Markdown(int seed, int sections)
    {
        var random = new Random(seed);
        string Sentence() => string.Join(' ', Enumerable.Range(0, 14).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])) + ".";
        var text = new StringBuilder($"# Manual {seed}\n");
        for (var s = 0; s < sections; s++)
        {
            text.Append($"\n## {Vocabulary[random.Next(Vocabulary.Length)]} {Vocabulary[random.Next(Vocabulary.Length)]} {s}\n\n");
            text.AppendJoin(' ', Enumerable.Range(0, 5).Select(_ => Sentence())).Append("\n\n");
            text.AppendJoin(' ', Enumerable.Range(0, 5).Select(_ => Sentence())).Append('\n');
        }
        return text.ToString();
    }

    private static byte[] Pdf(int seed, int pages)
    {
        var random = new Random(seed);
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        for (var p = 0; p < pages; p++)
        {
            var page = builder.AddPage(PageSize.A4);
            for (var line = 0; line < 20; line++)
            {
                page.AddText(string.Join(' ', Enumerable.Range(0, 10).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])), 10, new PdfPoint(40, 800 - line * 30), font);
            }
        }
        return builder.Build();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osiris.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (Osiris.sln) is not above " + AppContext.BaseDirectory);
    }
}
