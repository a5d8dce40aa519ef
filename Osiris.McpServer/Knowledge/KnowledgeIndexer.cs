using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.McpServer.Knowledge;

/// <summary>
/// Brings documents into the knowledge base: keeps the built-in collection in step with the docs folder, then, for as
/// long as the server runs, claims documents waiting in <c>indexing</c> (uploads, changed docs, ones a stopped server left
/// half done), reads and cuts them, and embeds passages that lack a vector of the configured model. Work lives in the
/// database, so a restart resumes it and several servers share it.
/// </summary>
public sealed class KnowledgeIndexer(
    IServiceProvider services,
    IServiceScopeFactory scopes,
    KnowledgeEmbeddings embeddings,
    IOptions<KnowledgeOptions> options,
    KnowledgeFolder folder,
    TimeProvider time,
    ILogger<KnowledgeIndexer> logger) : BackgroundService
{
    private static readonly string[] FolderExtensions = [".md", ".markdown", ".txt"];
    private readonly string _me = $"{Environment.MachineName}:{Environment.ProcessId}";
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _embedPausedUntil;

    /// <summary>Whether there may be passages to embed: at start, and after this indexer stored new ones.</summary>
    private volatile bool _embedPending = true;

    /// <summary>Completes once the schema is current and the built-in docs are indexed; searches wait for it.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Synchronises the built-in collection and indexes its waiting documents (uploads and embeddings follow in the loop).</summary>
    public async Task CatchUpAsync(CancellationToken ct)
    {
        try
        {
            await SyncBuiltInAsync(ct);
            while (await IndexNextAsync(ct, builtInOnly: true))
            {
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogError(ex, "The built-in knowledge collection could not be synchronised with {Folder}", folder.Path);
        }
    }

    /// <summary>
    /// Runs after the server started, so it answers initialize and tools/list at once: brings the database's schema up to
    /// date (the API does the same; one at a time), indexes the built-in docs, then works through waiting documents.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && !_ready.Task.IsCompleted)
        {
            try
            {
                await services.MigrateOsirisDatabaseAsync(stoppingToken);
                await CatchUpAsync(stoppingToken);
                _ready.TrySetResult();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "The knowledge base's database is not available; trying again in 5 s");
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var busy = false;
            try
            {
                busy = await IndexNextAsync(stoppingToken) | await EmbedNextAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Knowledge indexing failed; trying again shortly");
            }
            if (!busy)
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Claims the oldest waiting document and indexes it; false when none waits.</summary>
    public async Task<bool> IndexNextAsync(CancellationToken ct, bool builtInOnly = false)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var now = time.GetUtcNow();
        var waiting = db.KnowledgeDocuments.Where(d => d.Status == DocumentStatuses.Indexing && (d.ClaimedUntil == null || d.ClaimedUntil < now));
        if (builtInOnly)
        {
            waiting = waiting.Where(d => db.KnowledgeCollections.Any(c => c.Id == d.CollectionId && c.BuiltIn));
        }
        var candidate = await waiting.OrderBy(d => d.CreatedAt).Select(d => (Guid?)d.Id).FirstOrDefaultAsync(ct);
        if (candidate is not { } id)
        {
            return false;
        }
        var claimed = await waiting.Where(d => d.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.ClaimedBy, _me)
            .SetProperty(d => d.ClaimedUntil, now + options.Value.ClaimDuration), ct);
        if (claimed == 0)
        {
            return true; // another indexer took it first
        }

        var document = await db.KnowledgeDocuments.AsNoTracking().SingleAsync(d => d.Id == id, ct);
        List<Chunk> chunks;
        int pages;
        try
        {
            var text = DocumentReaders.Read(document.ContentType, document.Content);
            chunks = Chunker.Cut(document.Name, text, options.Value.MaxChunkChars);
            pages = text.Pages;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Reading is deterministic: a document that failed once fails again, so it is not retried but says why.
            var reason = ex is UnreadableDocumentException ? ex.Message : $"The document could not be read ({ex.GetType().Name}): {ex.Message}";
            logger.LogWarning("Knowledge document {Document} ({Collection}) failed: {Reason}", document.Name, document.CollectionId, reason);
            await using var failing = await db.Database.BeginTransactionAsync(ct);
            var failed = await db.KnowledgeDocuments.Where(d => d.Id == id && d.ClaimedBy == _me && d.ContentHash == document.ContentHash)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.Status, DocumentStatuses.Failed)
                    .SetProperty(d => d.Error, reason.Length <= 1000 ? reason : reason[..999] + "…")
                    .SetProperty(d => d.Chunks, 0)
                    .SetProperty(d => d.ClaimedBy, (string?)null)
                    .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), ct);
            if (failed == 1)
            {
                // Passages of content the document no longer has (a re-upload that failed) must not answer for it.
                await db.KnowledgeChunks.Where(c => c.DocumentId == id).ExecuteDeleteAsync(ct);
            }
            await failing.CommitAsync(ct);
            return true;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.KnowledgeChunks.Where(c => c.DocumentId == id).ExecuteDeleteAsync(ct);
        db.KnowledgeChunks.AddRange(chunks.Select(c => new KnowledgeChunkRecord
        {
            DocumentId = id, CollectionId = document.CollectionId, Ordinal = c.Ordinal, TitlePath = c.TitlePath, Page = c.Page, Text = c.Text,
        }));
        await db.SaveChangesAsync(ct);
        // Only while still claimed by this indexer and unchanged: a new upload of the same name resets the claim.
        var done = await db.KnowledgeDocuments.Where(d => d.Id == id && d.ClaimedBy == _me && d.ContentHash == document.ContentHash)
            .ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, DocumentStatuses.Ready)
                .SetProperty(d => d.Error, (string?)null)
                .SetProperty(d => d.Chunks, chunks.Count)
                .SetProperty(d => d.Pages, pages)
                .SetProperty(d => d.IndexedAt, time.GetUtcNow())
                .SetProperty(d => d.ClaimedBy, (string?)null)
                .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), ct);
        if (done == 0)
        {
            await transaction.RollbackAsync(ct);
            return true;
        }
        await transaction.CommitAsync(ct);
        _embedPending = true;
        logger.LogInformation("Knowledge document {Document} indexed: {Chunks} passages from {Pages} page(s)", document.Name, chunks.Count, pages);
        return true;
    }

    /// <summary>Embeds one batch of passages without a vector of the configured model; false when there is none (or no provider).</summary>
    public async Task<bool> EmbedNextAsync(CancellationToken ct)
    {
        if (embeddings is not { Generator: { } generator, Signature: { } signature } || !_embedPending || time.GetUtcNow() < _embedPausedUntil)
        {
            return false;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var batch = await db.KnowledgeChunks.Where(c => c.EmbeddingModel == null || c.EmbeddingModel != signature)
            .OrderBy(c => c.Id).Take(Math.Clamp(embeddings.Options.BatchSize, 1, 100)).ToListAsync(ct);
        if (batch.Count == 0)
        {
            _embedPending = false;
            return false;
        }
        var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [GeminiEmbeddingGenerator.TaskTypeKey] = GeminiEmbeddingGenerator.RetrievalDocument } };
        // The title path goes with the text: "Returns › Damaged goods" says what a short passage is about.
        static string Input(KnowledgeChunkRecord c) => $"{c.TitlePath}\n\n{c.Text}";
        try
        {
            var vectors = await generator.GenerateAsync(batch.Select(Input), options, ct);
            for (var i = 0; i < batch.Count && i < vectors.Count; i++)
            {
                batch[i].Embedding = Vectors.ToBytes(vectors[i].Vector.Span);
                batch[i].EmbeddingModel = signature;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            if (!Refused(ex))
            {
                _embedPausedUntil = time.GetUtcNow().AddSeconds(30);
                logger.LogWarning("Embedding {Count} passages failed; lexical search still finds them; retrying in 30 s: {Error}", batch.Count, ex.Message);
                return false;
            }
            // The provider refuses something in this batch: one by one, so a passage it never takes does not hold up the rest.
            foreach (var chunk in batch)
            {
                try
                {
                    chunk.Embedding = Vectors.ToBytes((await generator.GenerateAsync([Input(chunk)], options, ct))[0].Vector.Span);
                    chunk.EmbeddingModel = signature;
                }
                catch (Exception one) when (Refused(one))
                {
                    logger.LogWarning("The embedding provider refuses passage {Chunk} of document {Document}; it is found by words only: {Error}",
                        chunk.Ordinal, chunk.DocumentId, one.Message);
                    chunk.EmbeddingModel = "refused:" + signature;
                }
            }
        }
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            // A passage was deleted (its document re-indexed or removed) while it was being embedded.
        }
        return true;
    }

    /// <summary>
    /// A refusal of the input itself (400, 413, 422): trying it again will not help. A wrong key, an unknown model or a
    /// rate limit is the configuration's or the moment's problem, and is retried.
    /// </summary>
    private static bool Refused(Exception ex) => ex switch
    {
        HttpRequestException { StatusCode: { } status } => (int)status is 400 or 413 or 422,
        System.ClientModel.ClientResultException { Status: var status } => status is 400 or 413 or 422,
        _ => false,
    };

    /// <summary>The docs folder as the built-in collection: new and changed files are queued for indexing, removed ones deleted.</summary>
    public async Task SyncBuiltInAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var collection = await db.KnowledgeCollections.SingleOrDefaultAsync(c => c.Name == CollectionNames.BuiltIn, ct);
        if (collection is null)
        {
            collection = new KnowledgeCollectionRecord
            {
                Id = Guid.NewGuid(), Name = CollectionNames.BuiltIn, BuiltIn = true, CreatedAt = time.GetUtcNow(), CreatedBy = "osiris",
                Description = "OSIRIS's own documentation: architecture, events, APIs, infrastructure, the MCP server.",
            };
            db.KnowledgeCollections.Add(collection);
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                // Another server created it at the same moment.
                db.ChangeTracker.Clear();
                collection = await db.KnowledgeCollections.SingleAsync(c => c.Name == CollectionNames.BuiltIn, ct);
            }
        }

        var root = folder.Path;
        var files = Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Where(f => FolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => f)
            : [];
        var known = await db.KnowledgeDocuments.Where(d => d.CollectionId == collection.Id)
            .Select(d => new { d.Id, d.Name, d.ContentHash }).ToListAsync(ct);
        int added = 0, changed = 0, removed = 0;
        foreach (var gone in known.Where(k => !files.ContainsKey(k.Name)))
        {
            await KnowledgeDocuments.DeleteAsync(db, gone.Id, ct);
            removed++;
        }
        foreach (var (name, path) in files)
        {
            var content = await File.ReadAllBytesAsync(path, ct);
            var hash = KnowledgeDocuments.Hash(content);
            var existing = known.FirstOrDefault(k => k.Name == name);
            var contentType = name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? DocumentFormats.Text : DocumentFormats.Markdown;
            if (existing is null)
            {
                db.KnowledgeDocuments.Add(KnowledgeDocuments.New(collection.Id, name, contentType, content, hash, "osiris", time.GetUtcNow()));
                added++;
            }
            else if (existing.ContentHash != hash)
            {
                await KnowledgeDocuments.ReplaceContentAsync(db, existing.Id, contentType, content, hash, "osiris", ct);
                changed++;
            }
        }
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            logger.LogInformation("Another server synchronised the built-in knowledge collection at the same time");
            return;
        }
        if (added + changed + removed > 0)
        {
            logger.LogInformation("Built-in knowledge collection from {Folder}: {Added} added, {Changed} changed, {Removed} removed", root, added, changed, removed);
        }
    }
}
