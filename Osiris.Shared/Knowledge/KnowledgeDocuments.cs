using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Shared.Knowledge;

/// <summary>How a document enters the knowledge base and how new content replaces old: both leave it waiting for the indexer.</summary>
public static class KnowledgeDocuments
{
    public static KnowledgeDocumentRecord New(Guid collectionId, string name, string contentType, byte[] content, string hash, string? uploadedBy, DateTimeOffset now) => new()
    {
        Id = Guid.NewGuid(),
        Key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)),
        CollectionId = collectionId,
        Name = name,
        ContentType = contentType,
        Size = content.Length,
        Content = content,
        ContentHash = hash,
        Status = DocumentStatuses.Indexing,
        CreatedAt = now,
        UploadedBy = uploadedBy,
    };

    /// <summary>
    /// New content for a stored document (a re-upload under the same name, a changed built-in doc). It keeps its key, so
    /// earlier citations still open it; its old passages stay searchable until the new ones replace them.
    /// </summary>
    public static Task<int> ReplaceContentAsync(OsirisDbContext db, Guid id, string contentType, byte[] content, string hash, string? uploadedBy, CancellationToken ct) =>
        db.KnowledgeDocuments.Where(d => d.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.ContentType, contentType)
            .SetProperty(d => d.Content, content)
            .SetProperty(d => d.Size, content.LongLength)
            .SetProperty(d => d.ContentHash, hash)
            .SetProperty(d => d.Status, DocumentStatuses.Indexing)
            .SetProperty(d => d.Error, (string?)null)
            .SetProperty(d => d.UploadedBy, uploadedBy)
            .SetProperty(d => d.ClaimedBy, (string?)null)
            .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), ct);

    /// <summary>Removes a document and its passages (the lexical index follows: a trigger on SQLite, a generated column on PostgreSQL).</summary>
    public static async Task DeleteAsync(OsirisDbContext db, Guid id, CancellationToken ct)
    {
        await db.KnowledgeChunks.Where(c => c.DocumentId == id).ExecuteDeleteAsync(ct);
        await db.KnowledgeDocuments.Where(d => d.Id == id).ExecuteDeleteAsync(ct);
    }

    public static string Hash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
