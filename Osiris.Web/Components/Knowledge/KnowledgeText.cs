using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Components;
using Osiris.Shared.Contracts;
using Osiris.Web.Live;

namespace Osiris.Web.Components.Knowledge;

/// <summary>
/// Knowledge text as the pages show it: citations as links to their passage, snippets with matched words marked.
/// Everything else is added as text, so the renderer escapes it — no markup from a document or an answer is rendered.
/// </summary>
public static partial class KnowledgeText
{
    public const string SearchTool = "search_knowledge";

    public static string DocumentHref(string key) => $"/knowledge/documents/{Uri.EscapeDataString(key)}";

    /// <summary>A source id (<c>{document key}-{chunk}</c>) as a link to that chunk of its document.</summary>
    public static string SourceHref(string sourceId)
    {
        var dash = sourceId.LastIndexOf('-');
        return dash > 0 && int.TryParse(sourceId.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var chunk)
            ? $"{DocumentHref(sourceId[..dash])}#c-{chunk}"
            : DocumentHref(sourceId);
    }

    /// <summary>The text with every citation (<c>[3f2a9c1b-4]</c>) as a link to the passage it cites.</summary>
    public static RenderFragment Cited(string text) => builder =>
    {
        var at = 0;
        foreach (Match citation in SourceIds.Citation().Matches(text))
        {
            builder.AddContent(0, text[at..citation.Index]);
            builder.OpenElement(1, "a");
            var chunk = int.Parse(citation.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
            builder.AddAttribute(2, "href", $"{DocumentHref(citation.Groups[1].Value)}#c-{chunk}");
            builder.AddAttribute(3, "class", "citation");
            builder.AddContent(4, citation.Value);
            builder.CloseElement();
            at = citation.Index + citation.Length;
        }
        builder.AddContent(5, text[at..]);
    };

    /// <summary>A search snippet: the words it matched come in <c>**bold**</c>, shown marked.</summary>
    public static RenderFragment Snippet(string snippet) => builder =>
    {
        var at = 0;
        foreach (Match bold in Bold().Matches(snippet))
        {
            builder.AddContent(0, snippet[at..bold.Index]);
            builder.OpenElement(1, "mark");
            builder.AddContent(2, bold.Groups[1].Value);
            builder.CloseElement();
            at = bold.Index + bold.Length;
        }
        builder.AddContent(3, snippet[at..]);
    };

    [GeneratedRegex(@"\*\*(.+?)\*\*", RegexOptions.Singleline)]
    private static partial Regex Bold();

    /// <summary>
    /// The hits of a <c>search_knowledge</c> result: from the message's data, else from its text when that is the JSON
    /// answer itself; null for any other tool or when there are none to read.
    /// </summary>
    public static IReadOnlyList<KnowledgeHit>? HitsOf(string toolName, ChatMessage? result)
    {
        if (result is null)
        {
            return null;
        }
        var textIsJson = toolName == SearchTool && result.Text.TrimStart().StartsWith('{');
        foreach (var json in new[] { result.Data, textIsJson ? result.Text : null })
        {
            if (json is null)
            {
                continue;
            }
            try
            {
                using var document = JsonDocument.Parse(json);
                var root = document.RootElement;
                var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : toolName;
                if (name == SearchTool && root.TryGetProperty("hits", out var hits) && hits.ValueKind == JsonValueKind.Array)
                {
                    return hits.Deserialize<List<KnowledgeHit>>(OsirisJson.Options)?.Where(h => h.SourceId is { Length: > 0 }).ToList();
                }
            }
            catch (JsonException)
            {
                // Not the shape of a search result: the raw text shows instead.
            }
        }
        return null;
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes / (1024.0 * 1024):0.#} MB",
    };
}
