using System.ComponentModel;
using System.Text;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Knowledge;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class SearchKnowledgeTool
{
    [McpServerTool(Name = "search_knowledge", Title = "Search the knowledge base", ReadOnly = true, Idempotent = true, Destructive = false, OpenWorld = false)]
    [Description("Full-text search (BM25 ranking) over the knowledge base: the Markdown and text documentation configured for this " +
                 "server (by default OSIRIS's own docs: architecture, events, infrastructure modes, the MCP server). Returns the best " +
                 "matching sections, each with its source file, section heading, a snippet with the matched words in **bold**, and a score (higher is better).")]
    public static async Task<CallToolResult> SearchKnowledge(
        KnowledgeIndex index,
        [Description("Words to look for, e.g. 'how are events replayed after a reconnect'.")] string query,
        [Description("How many results to return (1-50, default 5).")] int limit = 5,
        CancellationToken cancellationToken = default)
    {
        var hits = await index.SearchAsync(query, limit, cancellationToken);
        var text = new StringBuilder();
        foreach (var hit in hits)
        {
            text.Append($"{hit.Source} § {hit.Section} (score {hit.Score:0.###})\n{hit.Snippet}\n\n");
        }
        if (hits.Count == 0)
        {
            text.Append("No matching documents.");
        }
        return ToolResults.Success(text.ToString().TrimEnd(), new { results = hits });
    }
}
