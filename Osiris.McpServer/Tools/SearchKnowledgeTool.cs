using System.ComponentModel;
using System.Text;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Knowledge;
using Osiris.Shared.Knowledge;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class SearchKnowledgeTool
{
    [McpServerTool(Name = "search_knowledge", Title = "Search the knowledge base", ReadOnly = true, Idempotent = true, Destructive = false, OpenWorld = false)]
    [Description("Searches the knowledge base: documents people uploaded (manuals, runbooks, policies) and OSIRIS's own documentation, " +
                 "by words and, when configured, by meaning. Returns the best passages, each with a source id in square brackets, " +
                 "its collection, document, section path, page and a snippet with matched words in **bold**. When you use a passage " +
                 "in your answer, cite its source id in square brackets exactly as given, e.g. [3f2a9c1b-4].")]
    public static async Task<CallToolResult> SearchKnowledge(
        KnowledgeAccess knowledge,
        [Description("What to look for, in words or as a question, e.g. 'how are events replayed after a reconnect'.")] string query,
        [Description("How many passages to return (1-50, default 5).")] int limit = 5,
        [Description("Optional: only these collections (names); you can never search collections outside your task's scope.")] string[]? collections = null,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            return ToolResults.Error("query is empty: say what to look for.");
        }
        if (!await knowledge.ReadyAsync(cancellationToken))
        {
            return ToolResults.Error("The knowledge base is still starting (its database is not ready); try again in a minute.");
        }
        var allowed = KnowledgeScopes.Narrow(await knowledge.AllowedAsync(cancellationToken), collections);
        var result = await knowledge.Search.SearchAsync(query, allowed, limit, cancellationToken);
        var text = new StringBuilder();
        foreach (var hit in result.Hits)
        {
            text.Append($"[{hit.SourceId}] {hit.Collection}: {hit.TitlePath}{(hit.Page is { } page ? $" (page {page})" : "")}\n{hit.Snippet}\n\n");
        }
        text.Append(result.Hits.Count == 0 ? "No matching passages." : "Cite the passages you use by their source id in square brackets.");
        if (result.Notice is { } notice)
        {
            text.Append('\n').Append(notice);
        }
        return ToolResults.Success(text.ToString(), new { mode = result.Mode, notice = result.Notice, results = result.Hits });
    }
}
