using Microsoft.EntityFrameworkCore;
using Osiris.McpServer.Workspaces;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.McpServer.Knowledge;

/// <summary>
/// The knowledge base as one MCP session sees it (scoped per request): only the collections the session's task may search. A session without a task (stdio, <c>--root</c>) belongs to
/// whoever runs the server and sees every collection.
/// </summary>
public sealed class KnowledgeAccess(KnowledgeSearch search, OsirisDbContext db, Workspace workspace, KnowledgeIndexer indexer)
{
    public KnowledgeSearch Search => search;

    /// <summary>False when the knowledge base is still being prepared (schema, built-in docs) after half a minute.</summary>
    public async Task<bool> ReadyAsync(CancellationToken ct)
    {
        try
        {
            await indexer.Ready.WaitAsync(TimeSpan.FromSeconds(30), ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The collection names the session may search; null: all of them.</summary>
    public async Task<IReadOnlyList<string>?> AllowedAsync(CancellationToken ct)
    {
        if (workspace.TaskId is not { } taskId)
        {
            return null;
        }
        var task = await db.Tasks.AsNoTracking().Where(t => t.Id == taskId)
            .Select(t => new { t.Source, t.KnowledgeCollections }).SingleOrDefaultAsync(ct);
        // A workspace without a task row (a test, a deleted task) gets only the built-in docs, never everything.
        return task is null ? [Osiris.Shared.Contracts.CollectionNames.BuiltIn] : KnowledgeScopes.AllowedFor(task.Source, task.KnowledgeCollections);
    }
}
