using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.Api.Knowledge;

public sealed class KnowledgeApiOptions
{
    public const string Section = "Osiris:Knowledge";

    /// <summary>The largest document accepted, in bytes; a request carries at most <see cref="MaxFilesPerUpload"/> of them.</summary>
    public long MaxDocumentBytes { get; set; } = DocumentFormats.DefaultMaxBytes;

    public int MaxFilesPerUpload { get; set; } = 10;
}

/// <summary>
/// Collections and documents (operators change them; everyone signed in reads and searches them). An upload is stored
/// at once with status <c>indexing</c>; the MCP server's indexer cuts and indexes it, and the status says when it is ready
/// or why it failed.
/// </summary>
public static class KnowledgeApi
{
    public static RouteGroupBuilder MapKnowledgeApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/knowledge").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Knowledge");
        group.MapGet("/status", Status);
        group.MapGet("/search", Search);
        group.MapGet("/collections", ListCollections);
        group.MapPost("/collections", CreateCollection).RequireRole(Policies.Operator);
        group.MapDelete("/collections/{id:guid}", DeleteCollection).RequireRole(Policies.Operator);
        group.MapGet("/collections/{id:guid}/documents", ListDocuments);
        var uploadLimit = UploadLimit(app.ServiceProvider.GetRequiredService<IOptions<KnowledgeApiOptions>>().Value);
        group.MapPost("/collections/{id:guid}/documents", Upload).RequireRole(Policies.Operator).DisableAntiforgery()
            .WithMetadata(new RequestSizeLimitAttribute(uploadLimit))
            .WithFormOptions(multipartBodyLengthLimit: uploadLimit);
        group.MapGet("/documents/{idOrKey}", GetDocument);
        group.MapGet("/documents/{idOrKey}/content", GetContent);
        group.MapDelete("/documents/{id:guid}", DeleteDocument).RequireRole(Policies.Operator);
        return group;
    }

    private static long UploadLimit(KnowledgeApiOptions options) => options.MaxDocumentBytes * options.MaxFilesPerUpload + 1024 * 1024;

    public static async Task<Ok<KnowledgeStatusDto>> Status(OsirisDbContext db, KnowledgeEmbeddings embeddings, IOptions<KnowledgeApiOptions> options,
        CancellationToken ct)
    {
        var chunks = await db.KnowledgeChunks.CountAsync(ct);
        var embedded = embeddings.Signature is { } signature ? await db.KnowledgeChunks.CountAsync(c => c.EmbeddingModel == signature, ct) : 0;
        return TypedResults.Ok(new KnowledgeStatusDto(embeddings.Generator is not null,
            embeddings.Generator is null ? null : embeddings.Options.Provider?.ToLowerInvariant(),
            embeddings.Generator is null ? null : embeddings.Options.EffectiveModel, chunks, embedded, options.Value.MaxDocumentBytes));
    }

    public static async Task<Results<Ok<KnowledgeSearchResult>, ValidationProblem>> Search(string? q, string? collections, int? limit,
        KnowledgeSearch search, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(q) || q.Length > 2000)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["q"] = ["q is the text to search for (1 to 2000 characters)."] });
        }
        var names = collections?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return TypedResults.Ok(await search.SearchAsync(q, names is { Length: > 0 } ? names : null, limit ?? 5, ct));
    }

    public static async Task<Ok<List<KnowledgeCollectionDto>>> ListCollections(OsirisDbContext db, CancellationToken ct)
    {
        var counts = await db.KnowledgeDocuments.GroupBy(d => new { d.CollectionId, d.Status })
            .Select(g => new { g.Key.CollectionId, g.Key.Status, Count = g.Count() }).ToListAsync(ct);
        var collections = await db.KnowledgeCollections.AsNoTracking().OrderByDescending(c => c.BuiltIn).ThenBy(c => c.Name).ToListAsync(ct);
        return TypedResults.Ok(collections.Select(c =>
        {
            int Count(string status) => counts.Where(x => x.CollectionId == c.Id && x.Status == status).Sum(x => x.Count);
            var ready = Count(DocumentStatuses.Ready);
            var indexing = Count(DocumentStatuses.Indexing);
            var failed = Count(DocumentStatuses.Failed);
            return new KnowledgeCollectionDto(c.Id, c.Name, c.Description, c.BuiltIn, ready + indexing + failed, ready, indexing, failed, c.CreatedAt);
        }).ToList());
    }

    public static async Task<Results<Created<KnowledgeCollectionDto>, ProblemHttpResult>> CreateCollection(CreateCollectionRequest request,
        HttpContext http, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (await db.KnowledgeCollections.AnyAsync(c => c.Name == request.Name, ct))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Collection exists", detail: $"There is already a collection named '{request.Name}'.");
        }
        var collection = new KnowledgeCollectionRecord
        {
            Id = Guid.NewGuid(), Name = request.Name, Description = request.Description?.Trim(), CreatedAt = time.GetUtcNow(), CreatedBy = AuditLog.Actor(http),
        };
        db.KnowledgeCollections.Add(collection);
        AuditLog.Add(db, time, http, AuditActions.CollectionCreate, $"collection:{collection.Name}", null);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Collection exists", detail: $"There is already a collection named '{request.Name}'.");
        }
        return TypedResults.Created($"/api/v1/knowledge/collections/{collection.Id}",
            new KnowledgeCollectionDto(collection.Id, collection.Name, collection.Description, false, 0, 0, 0, 0, collection.CreatedAt));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteCollection(Guid id, HttpContext http, OsirisDbContext db, TimeProvider time,
        CancellationToken ct)
    {
        var collection = await db.KnowledgeCollections.SingleOrDefaultAsync(c => c.Id == id, ct);
        if (collection is null)
        {
            return NoCollection(id);
        }
        if (collection.BuiltIn)
        {
            return BuiltInReadOnly();
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.KnowledgeChunks.Where(c => c.CollectionId == id).ExecuteDeleteAsync(ct);
        await db.KnowledgeDocuments.Where(d => d.CollectionId == id).ExecuteDeleteAsync(ct);
        db.KnowledgeCollections.Remove(collection);
        AuditLog.Add(db, time, http, AuditActions.CollectionDelete, $"collection:{collection.Name}", null);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<List<KnowledgeDocumentDto>>, ProblemHttpResult>> ListDocuments(Guid id, OsirisDbContext db, CancellationToken ct)
    {
        if (!await db.KnowledgeCollections.AnyAsync(c => c.Id == id, ct))
        {
            return NoCollection(id);
        }
        return TypedResults.Ok((await Documents(db, d => d.CollectionId == id).ToListAsync(ct)).OrderBy(d => d.Name, StringComparer.Ordinal).ToList());
    }

    public static async Task<Results<Accepted<List<KnowledgeDocumentDto>>, ProblemHttpResult>> Upload(Guid id, HttpContext http, OsirisDbContext db,
        IOptions<KnowledgeApiOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var collection = await db.KnowledgeCollections.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, ct);
        if (collection is null)
        {
            return NoCollection(id);
        }
        if (collection.BuiltIn)
        {
            return BuiltInReadOnly();
        }
        if (!http.Request.HasFormContentType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Send multipart/form-data",
                detail: "Upload documents as multipart/form-data, one part named 'file' per document.");
        }
        var max = options.Value.MaxDocumentBytes;
        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge($"The upload is larger than {UploadLimit(options.Value):N0} bytes in all; each document may have {max:N0} bytes.");
        }
        catch (InvalidDataException e)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed upload", detail: e.Message);
        }
        var files = form.Files.GetFiles("file");
        if (files.Count == 0 || files.Count > options.Value.MaxFilesPerUpload)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No documents",
                detail: $"Send 1 to {options.Value.MaxFilesPerUpload} documents, each as a part named 'file'.");
        }

        // All or nothing: every document is checked before any is stored.
        var accepted = new List<(string Name, string ContentType, byte[] Content)>();
        foreach (var file in files)
        {
            var name = CleanName(file.FileName);
            if (file.Length > max)
            {
                return TooLarge($"'{name}' has {file.Length:N0} bytes; a document may have at most {max:N0} (Osiris:Knowledge:MaxDocumentBytes).");
            }
            if (file.Length == 0)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Empty document", detail: $"'{name}' is empty.");
            }
            using var buffer = new MemoryStream((int)file.Length);
            await file.CopyToAsync(buffer, ct);
            var content = buffer.ToArray();
            if (DocumentFormatSniffer.Sniff(name, content) is not { } contentType)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported document format",
                    detail: $"'{name}' is not Markdown, plain text (UTF-8), HTML or PDF. Convert it to one of those and upload it again.");
            }
            accepted.Add((name, contentType, content));
        }

        var actor = AuditLog.Actor(http);
        var ids = new List<Guid>();
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            foreach (var (name, contentType, content) in accepted)
            {
                var hash = KnowledgeDocuments.Hash(content);
                var existing = await db.KnowledgeDocuments.Where(d => d.CollectionId == id && d.Name == name).Select(d => (Guid?)d.Id).SingleOrDefaultAsync(ct);
                if (existing is { } replaced)
                {
                    await KnowledgeDocuments.ReplaceContentAsync(db, replaced, contentType, content, hash, actor, ct);
                    ids.Add(replaced);
                }
                else
                {
                    var document = KnowledgeDocuments.New(id, name, contentType, content, hash, actor, time.GetUtcNow());
                    db.KnowledgeDocuments.Add(document);
                    ids.Add(document.Id);
                }
                AuditLog.Add(db, time, http, AuditActions.DocumentUpload, $"collection:{collection.Name}",
                    new { name, contentType, size = content.Length, replaced = existing is not null });
            }
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Upload collided",
                    detail: "Another upload of the same document name arrived at the same moment; nothing of this one was stored. Send it again.");
            }
            await transaction.CommitAsync(ct);
        }
        loggers.CreateLogger("Osiris.Knowledge").LogInformation("{Count} document(s) uploaded to {Collection} by {Actor}", accepted.Count, collection.Name, actor);
        var documents = await Documents(db, d => ids.Contains(d.Id)).ToListAsync(ct);
        return TypedResults.Accepted($"/api/v1/knowledge/collections/{id}/documents", documents);
    }

    public static async Task<Results<Ok<KnowledgeDocumentView>, ProblemHttpResult>> GetDocument(string idOrKey, OsirisDbContext db, CancellationToken ct)
    {
        if (await Find(db, idOrKey, ct) is not { } document)
        {
            return NoDocument(idOrKey);
        }
        var chunks = await db.KnowledgeChunks.AsNoTracking().Where(c => c.DocumentId == document.Id).OrderBy(c => c.Ordinal)
            .Select(c => new KnowledgeChunkDto(c.Ordinal, "", c.TitlePath, c.Page, c.Text)).ToListAsync(ct);
        return TypedResults.Ok(new KnowledgeDocumentView(document, chunks.Select(c => c with { SourceId = SourceIds.Of(document.Key, c.Ordinal) }).ToList()));
    }

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetContent(string idOrKey, HttpContext http, OsirisDbContext db,
        CancellationToken ct)
    {
        if (await Find(db, idOrKey, ct) is not { } document)
        {
            return NoDocument(idOrKey);
        }
        var content = await db.KnowledgeDocuments.Where(d => d.Id == document.Id).Select(d => d.Content).SingleAsync(ct);
        // Always a download, never rendered by the browser from the API's origin: an uploaded HTML file is someone else's page.
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.File(content, document.ContentType, document.Name);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDocument(Guid id, HttpContext http, OsirisDbContext db, TimeProvider time,
        CancellationToken ct)
    {
        var document = await db.KnowledgeDocuments.AsNoTracking().Where(d => d.Id == id)
            .Join(db.KnowledgeCollections, d => d.CollectionId, c => c.Id, (d, c) => new { d.Name, Collection = c.Name, c.BuiltIn }).SingleOrDefaultAsync(ct);
        if (document is null)
        {
            return NoDocument(id.ToString());
        }
        if (document.BuiltIn)
        {
            return BuiltInReadOnly();
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await KnowledgeDocuments.DeleteAsync(db, id, ct);
        AuditLog.Add(db, time, http, AuditActions.DocumentDelete, $"collection:{document.Collection}", new { document.Name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>Documents as the API shows them; the filter runs on the stored rows (a projected record cannot be filtered in SQL).</summary>
    private static IQueryable<KnowledgeDocumentDto> Documents(OsirisDbContext db, System.Linq.Expressions.Expression<Func<KnowledgeDocumentRecord, bool>> filter) =>
        db.KnowledgeDocuments.AsNoTracking().Where(filter).Join(db.KnowledgeCollections, d => d.CollectionId, c => c.Id, (d, c) => new KnowledgeDocumentDto(
            d.Id, d.Key, d.CollectionId, c.Name, d.Name, d.ContentType, d.Size, d.Status, d.Error, d.Chunks, d.Pages, d.CreatedAt, d.IndexedAt, d.UploadedBy));

    private static async Task<KnowledgeDocumentDto?> Find(OsirisDbContext db, string idOrKey, CancellationToken ct) =>
        Guid.TryParse(idOrKey, out var id)
            ? await Documents(db, d => d.Id == id).SingleOrDefaultAsync(ct)
            : idOrKey.Length == 8 ? await Documents(db, d => d.Key == idOrKey.ToLowerInvariant()).SingleOrDefaultAsync(ct) : null;

    /// <summary>The file's own name without any folder, control characters or more than 255 characters.</summary>
    private static string CleanName(string fileName)
    {
        var name = new string(Path.GetFileName(fileName.Replace('\\', '/')).Where(c => !char.IsControl(c)).ToArray()).Trim();
        return name.Length == 0 ? "document" : name.Length <= 255 ? name : name[..255];
    }

    private static ProblemHttpResult NoCollection(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such collection", detail: $"There is no knowledge collection {id}.");

    private static ProblemHttpResult NoDocument(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such document", detail: $"There is no knowledge document '{id}'.");

    private static ProblemHttpResult BuiltInReadOnly() =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The built-in collection is read-only",
            detail: $"'{CollectionNames.BuiltIn}' follows the documentation shipped with OSIRIS; create a collection of your own for your documents.");

    private static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Document too large", detail: detail);
}
