using System.Numerics.Tensors;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Storage;

namespace Osiris.Shared.Knowledge;

/// <summary>
/// Exact nearest-neighbour search over the stored embeddings, in process: the vectors of one model are read once into
/// one contiguous array and read again only when the set changed (a count or the newest id moved; chunk ids are never
/// reused). Exact search stays fast to about 100,000 passages (the knowledge benchmark measures it); past that a
/// vector index (pgvector's HNSW) is the next step.
/// </summary>
public sealed class VectorIndex
{
    private sealed record Snapshot(string Signature, int Count, long MaxId, long[] Ids, Guid[] Collections, float[] Matrix, int Dimensions);

    private readonly SemaphoreSlim _load = new(1, 1);
    private Snapshot? _snapshot;

    public async Task<IReadOnlyList<(long ChunkId, float Score)>> SearchAsync(
        OsirisDbContext db, string signature, float[] query, IReadOnlySet<Guid> collections, int limit, CancellationToken ct)
    {
        var snapshot = await CurrentAsync(db, signature, ct);
        if (snapshot.Ids.Length == 0 || snapshot.Dimensions != query.Length)
        {
            return [];
        }
        var normalised = Vectors.Normalise(query);
        var best = new PriorityQueue<(long Id, float Score), float>();
        var matrix = snapshot.Matrix.AsSpan();
        for (var i = 0; i < snapshot.Ids.Length; i++)
        {
            if (!collections.Contains(snapshot.Collections[i]))
            {
                continue;
            }
            var score = TensorPrimitives.Dot(matrix.Slice(i * snapshot.Dimensions, snapshot.Dimensions), normalised);
            if (best.Count < limit)
            {
                best.Enqueue((snapshot.Ids[i], score), score);
            }
            else if (score > best.Peek().Score)
            {
                best.EnqueueDequeue((snapshot.Ids[i], score), score);
            }
        }
        var hits = new List<(long, float)>(best.Count);
        while (best.TryDequeue(out var hit, out _))
        {
            hits.Add(hit);
        }
        hits.Reverse();
        return hits;
    }

    private async Task<Snapshot> CurrentAsync(OsirisDbContext db, string signature, CancellationToken ct)
    {
        var embedded = db.KnowledgeChunks.Where(c => c.EmbeddingModel == signature);
        var count = await embedded.CountAsync(ct);
        var maxId = await embedded.MaxAsync(c => (long?)c.Id, ct) ?? 0;
        if (_snapshot is { } current && current.Signature == signature && current.Count == count && current.MaxId == maxId)
        {
            return current;
        }
        await _load.WaitAsync(ct);
        try
        {
            if (_snapshot is { } loaded && loaded.Signature == signature && loaded.Count == count && loaded.MaxId == maxId)
            {
                return loaded;
            }
            var rows = await embedded.AsNoTracking().OrderBy(c => c.Id)
                .Select(c => new { c.Id, c.CollectionId, c.Embedding }).ToListAsync(ct);
            var dimensions = rows.Count == 0 ? 0 : rows[0].Embedding!.Length / sizeof(float);
            rows.RemoveAll(r => r.Embedding!.Length != dimensions * sizeof(float));
            var matrix = new float[rows.Count * dimensions];
            for (var i = 0; i < rows.Count; i++)
            {
                Buffer.BlockCopy(rows[i].Embedding!, 0, matrix, i * dimensions * sizeof(float), dimensions * sizeof(float));
            }
            return _snapshot = new Snapshot(signature, count, maxId, rows.Select(r => r.Id).ToArray(),
                rows.Select(r => r.CollectionId).ToArray(), matrix, dimensions);
        }
        finally
        {
            _load.Release();
        }
    }
}
