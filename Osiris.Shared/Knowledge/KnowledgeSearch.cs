using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Shared.Knowledge;

/// <summary>
/// Finds passages by words (SQLite FTS5 BM25, or PostgreSQL full text) and, when an embedding provider is configured, by
/// meaning (<see cref="VectorIndex"/>); the two rankings are fused with reciprocal rank fusion. The caller says which
/// collections may be searched; nothing outside them is read.
/// </summary>
public sealed partial class KnowledgeSearch(OsirisDbContext db, VectorIndex vectors, KnowledgeEmbeddings embeddings, ILogger<KnowledgeSearch> logger)
{
    public const int MaxLimit = 50;

    /// <summary>Reciprocal rank fusion's constant: ranks past the first few weigh little, and neither list dominates.</summary>
    private const int FusionK = 60;

    private static readonly HashSet<string> StopWords =
        ["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it", "my", "of", "on", "or",
         "the", "to", "what", "when", "where", "which", "who", "why", "with"];

    private static readonly ActivitySource Telemetry = new("Osiris.Knowledge");

    /// <param name="collections">Names that may be searched; null: every collection.</param>
    /// <param name="only">One leg alone (<see cref="SearchModes.Lexical"/> or <see cref="SearchModes.Semantic"/>), to compare them; null: all there is.</param>
    public async Task<KnowledgeSearchResult> SearchAsync(string query, IReadOnlyList<string>? collections, int limit, CancellationToken ct,
        string? only = null)
    {
        using var activity = Telemetry.StartActivity("knowledge.search");
        limit = Math.Clamp(limit, 1, MaxLimit);
        var scope = await db.KnowledgeCollections.AsNoTracking()
            .Where(c => collections == null || collections.Contains(c.Name))
            .ToDictionaryAsync(c => c.Id, c => c.Name, ct);
        var depth = Math.Max(limit * 4, 20);

        var lexical = scope.Count == 0 || only == SearchModes.Semantic ? [] : await LexicalAsync(query, scope.Keys.ToList(), depth, ct);
        var semantic = new List<(long ChunkId, float Score)>();
        string? notice = null;
        var semanticOn = embeddings.Generator is not null && only != SearchModes.Lexical;
        if (embeddings.Generator is not { } generator || only == SearchModes.Lexical)
        {
            notice = embeddings.Generator is null ? "Semantic search is off (no embedding provider configured): searching by words only." : null;
        }
        else if (scope.Count > 0 && !string.IsNullOrWhiteSpace(query))
        {
            try
            {
                var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [GeminiEmbeddingGenerator.TaskTypeKey] = GeminiEmbeddingGenerator.RetrievalQuery } };
                var vector = (await generator.GenerateAsync([query], options, ct))[0].Vector.ToArray();
                semantic = [.. await vectors.SearchAsync(db, embeddings.Signature!, vector, scope.Keys.ToHashSet(), depth, ct)];
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogWarning("Semantic search failed, answering by words only: {Error}", ex.Message);
                notice = $"Semantic search failed ({ex.GetType().Name}): searching by words only.";
                semanticOn = false;
            }
        }

        var mode = !semanticOn ? SearchModes.Lexical : only == SearchModes.Semantic ? SearchModes.Semantic : SearchModes.Fused;
        var ranked = Fuse(lexical, semantic, mode, limit);
        activity?.SetTag("osiris.knowledge.mode", mode);
        activity?.SetTag("osiris.knowledge.hits", ranked.Count);

        var ids = ranked.Select(r => r.ChunkId).ToList();
        var chunks = await db.KnowledgeChunks.AsNoTracking().Where(c => ids.Contains(c.Id))
            .Join(db.KnowledgeDocuments, c => c.DocumentId, d => d.Id, (c, d) => new { c.Id, c.CollectionId, c.Ordinal, c.TitlePath, c.Page, c.Text, d.Key, DocumentId = d.Id, Document = d.Name })
            .ToDictionaryAsync(c => c.Id, ct);
        var snippets = lexical.ToDictionary(l => l.ChunkId, l => l.Snippet);
        var hits = ranked.Where(r => chunks.ContainsKey(r.ChunkId)).Select(r =>
        {
            var c = chunks[r.ChunkId];
            return new KnowledgeHit(SourceIds.Of(c.Key, c.Ordinal), scope[c.CollectionId], c.DocumentId, c.Document, c.TitlePath, c.Page,
                snippets.GetValueOrDefault(r.ChunkId) ?? Excerpt(c.Text), Math.Round(r.Score, 6), r.MatchedBy);
        }).ToList();
        return new KnowledgeSearchResult(mode, notice, hits);
    }

    private static List<(long ChunkId, double Score, IReadOnlyList<string> MatchedBy)> Fuse(
        List<LexicalRow> lexical, List<(long ChunkId, float Score)> semantic, string mode, int limit)
    {
        if (mode == SearchModes.Lexical)
        {
            return lexical.Take(limit).Select(l => (l.ChunkId, l.Score, (IReadOnlyList<string>)[SearchModes.Lexical])).ToList();
        }
        if (mode == SearchModes.Semantic)
        {
            return semantic.Take(limit).Select(v => (v.ChunkId, (double)v.Score, (IReadOnlyList<string>)[SearchModes.Semantic])).ToList();
        }
        var fused = new Dictionary<long, (double Score, List<string> By)>();
        void Add(long id, int rank, string by)
        {
            var entry = fused.TryGetValue(id, out var e) ? e : (0, new List<string>());
            entry.By.Add(by);
            fused[id] = (entry.Score + 1.0 / (FusionK + rank + 1), entry.By);
        }
        for (var i = 0; i < lexical.Count; i++)
        {
            Add(lexical[i].ChunkId, i, SearchModes.Lexical);
        }
        for (var i = 0; i < semantic.Count; i++)
        {
            Add(semantic[i].ChunkId, i, SearchModes.Semantic);
        }
        return fused.OrderByDescending(f => f.Value.Score).ThenBy(f => f.Key).Take(limit)
            .Select(f => (f.Key, f.Value.Score, (IReadOnlyList<string>)f.Value.By)).ToList();
    }

    /// <summary>The query's words, each quoted for the engine: a caller's text is never search syntax.</summary>
    public static IReadOnlyList<string> Terms(string query) =>
        Words().Matches(query.ToLowerInvariant()).Select(m => m.Value).Where(w => !StopWords.Contains(w)).Distinct().Take(32).ToList();

    private async Task<List<LexicalRow>> LexicalAsync(string query, List<Guid> collections, int depth, CancellationToken ct)
    {
        var terms = Terms(query);
        if (terms.Count == 0)
        {
            return [];
        }
        if (db is SqliteOsirisDbContext)
        {
            // EF stores a Guid in SQLite as upper-case text; the ids travel as one JSON array.
            var ids = System.Text.Json.JsonSerializer.Serialize(collections.Select(c => c.ToString().ToUpperInvariant()));
            var match = string.Join(" OR ", terms.Select(t => $"\"{t}\""));
            // BM25 weighs rare words higher; a hit in the title path counts five times a hit in the text.
            return await db.Database.SqlQuery<LexicalRow>($"""
                SELECT c."Id" AS "ChunkId", -bm25(knowledge_fts, 5.0, 1.0) AS "Score",
                       snippet(knowledge_fts, 1, '**', '**', '…', 24) AS "Snippet"
                FROM knowledge_fts JOIN knowledge_chunks c ON c."Id" = knowledge_fts.rowid
                WHERE knowledge_fts MATCH {match} AND c."CollectionId" IN (SELECT value FROM json_each({ids}))
                ORDER BY bm25(knowledge_fts, 5.0, 1.0) LIMIT {depth}
                """).ToListAsync(ct);
        }
        var tsquery = string.Join(" | ", terms);
        var idArray = collections.ToArray();
        // Ranked first, highlighted after: ts_headline reads the whole text, so it runs on the few rows kept.
        return await db.Database.SqlQuery<LexicalRow>($"""
            SELECT r."ChunkId", r."Score",
                   ts_headline('english', c."Text", to_tsquery('english', {tsquery}), 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=1') AS "Snippet"
            FROM (SELECT c."Id" AS "ChunkId", ts_rank(c."SearchVector", q)::float8 AS "Score"
                  FROM knowledge_chunks c, to_tsquery('english', {tsquery}) q
                  WHERE c."SearchVector" @@ q AND c."CollectionId" = ANY({idArray})
                  ORDER BY 2 DESC LIMIT {depth}) r
            JOIN knowledge_chunks c ON c."Id" = r."ChunkId"
            ORDER BY r."Score" DESC
            """).ToListAsync(ct);
    }

    private static string Excerpt(string text)
    {
        if (text.Length <= 240)
        {
            return text;
        }
        var cut = text.LastIndexOf(' ', 240, 60);
        return text[..(cut > 0 ? cut : 240)] + "…";
    }

    [GeneratedRegex(@"[\p{L}\p{N}_]+")]
    private static partial Regex Words();
}

/// <summary>One row of a lexical search: a chunk, its engine score (higher is better) and a highlighted snippet.</summary>
public sealed class LexicalRow
{
    public long ChunkId { get; set; }
    public double Score { get; set; }
    public string Snippet { get; set; } = "";
}
