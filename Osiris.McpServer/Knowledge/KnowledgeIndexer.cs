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
    IServiceScopeFactory scopes,
    KnowledgeEmbeddings embeddings,
    IOptions<KnowledgeOptions> options,
    KnowledgeFolder folder,
    TimeProvider time,
    ILogger<KnowledgeIndexer> logger) : BackgroundService
{
    private static readonly string[] FolderExtensions = [".md", ".markdown", ".txt"];
    private readonly string _me = $"{Environment.MachineName}:{Environment.ProcessId}";
    private DateTimeOffset _embedPausedUntil;

    /// <summary>Synchronises the built-in collection and indexes every waiting document (not embeddings: those follow in the background).</summary>
    public async Task CatchUpAsync(CancellationToken ct)
    {
        try
        {
            await SyncBuiltInAsync(ct);
            while (await IndexNextAsync(ct))
            {
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogError(ex, "The built-in knowledge collection could not be synchronised with {Folder}", folder.Path);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
    public async Task<bool> IndexNextAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var now = time.GetUtcNow();
        var waiting = db.KnowledgeDocuments.Where(d => d.Status == DocumentStatuses.Indexing && (d.ClaimedUntil == null || d.ClaimedUntil < now));
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
        catch (UnreadableDocumentException ex)
        {
            logger.LogWarning("Knowledge document {Document} ({Collection}) failed: {Reason}", document.Name, document.CollectionId, ex.Message);
            await db.KnowledgeDocuments.Where(d => d.Id == id && d.ClaimedBy == _me).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, DocumentStatuses.Failed)
                .SetProperty(d => d.Error, ex.Message.Length <= 1000 ? ex.Message : ex.Message[..999] + "…")
                .SetProperty(d => d.Chunks, 0)
                .SetProperty(d => d.ClaimedBy, (string?)null)
                .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), ct);
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
        logger.LogInformation("Knowledge document {Document} indexed: {Chunks} passages from {Pages} page(s)", document.Name, chunks.Count, pages);
        return true;
    }

    /// <summary>Embeds one batch of passages without a vector of the configured model; false when there is none (or no provider).</summary>
    public async Task<bool> EmbedNextAsync(CancellationToken ct)
    {
        if (embeddings is not { Generator: { } generator, Signature: { } signature } || time.GetUtcNow() < _embedPausedUntil)
        {
            return false;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var batch = await db.KnowledgeChunks.Where(c => c.EmbeddingModel == null || c.EmbeddingModel != signature)
            .OrderBy(c => c.Id).Take(Math.Clamp(embeddings.Options.BatchSize, 1, 100)).ToListAsync(ct);
        if (batch.Count == 0)
        {
            return false;
        }
        GeneratedEmbeddings<Embedding<float>> vectors;
        try
        {
            // The title path goes with the text: "Returns › Damaged goods" says what a short passage is about.
            vectors = await generator.GenerateAsync(batch.Select(c => $"{c.TitlePath}\n\n{c.Text}"),
                new EmbeddingGenerationOptions { AdditionalProperties = new() { ["taskType"] = "RETRIEVAL_DOCUMENT" } }, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.ClientModel.ClientResultException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            _embedPausedUntil = time.GetUtcNow().AddSeconds(30);
            logger.LogWarning("Embedding {Count} passages failed; lexical search still finds them; retrying in 30 s: {Error}", batch.Count, ex.Message);
            return false;
        }
        for (var i = 0; i < batch.Count && i < vectors.Count; i++)
        {
            batch[i].Embedding = Vectors.ToBytes(vectors[i].Vector.Span);
            batch[i].EmbeddingModel = signature;
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
