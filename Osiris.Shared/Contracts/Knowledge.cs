using System.Text.RegularExpressions;

namespace Osiris.Shared.Contracts;

/// <summary>Where a document is on its way into the knowledge base.</summary>
public static class DocumentStatuses
{
    /// <summary>Stored; the MCP server's indexer has not finished cutting and indexing it yet (it resumes after a restart).</summary>
    public const string Indexing = "indexing";
    public const string Ready = "ready";

    /// <summary>The document could not be read (a broken PDF, no text in it); <c>error</c> says why.</summary>
    public const string Failed = "failed";

    public static readonly string[] All = [Indexing, Ready, Failed];
}

/// <summary>How a search ranked its hits: by words alone, or words and meaning fused (reciprocal rank fusion).</summary>
public static class SearchModes
{
    public const string Lexical = "lexical";
    public const string Semantic = "semantic";
    public const string Fused = "fused";
}

public static partial class CollectionNames
{
    public const int MaxLength = 64;

    /// <summary>The documentation that ships with OSIRIS, kept in sync with the MCP server's docs folder; read-only.</summary>
    public const string BuiltIn = "osiris-docs";

    /// <summary>In trust settings: every collection.</summary>
    public const string Any = "*";

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex Pattern();
}

/// <summary>What uploads may be: formats by content (not by the name's extension alone) and a size cap.</summary>
public static class DocumentFormats
{
    public const string Markdown = "text/markdown";
    public const string Text = "text/plain";
    public const string Html = "text/html";
    public const string Pdf = "application/pdf";

    public static readonly string[] All = [Markdown, Text, Html, Pdf];

    /// <summary>The default upload cap (<c>Osiris:Knowledge:MaxDocumentBytes</c>).</summary>
    public const long DefaultMaxBytes = 20 * 1024 * 1024;
}

/// <summary><c>POST /api/v1/knowledge/collections</c>.</summary>
public sealed record CreateCollectionRequest(string Name, string? Description) : IValidatable
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (!CollectionNames.IsValid(Name))
        {
            errors["name"] = [$"name has 1 to {CollectionNames.MaxLength} lower-case letters, digits or . _ - and starts with a letter or digit."];
        }
        else if (Name == CollectionNames.BuiltIn)
        {
            errors["name"] = [$"'{CollectionNames.BuiltIn}' is the built-in collection."];
        }
        if (Description is { Length: > 500 })
        {
            errors["description"] = ["description has at most 500 characters."];
        }
        return errors;
    }
}

public sealed record KnowledgeCollectionDto(
    Guid Id, string Name, string? Description, bool BuiltIn, int Documents, int Ready, int Indexing, int Failed, DateTimeOffset CreatedAt);

/// <summary>A stored document. <c>key</c> starts every source id cited from it (<c>{key}-{chunk}</c>).</summary>
public sealed record KnowledgeDocumentDto(
    Guid Id,
    string Key,
    Guid CollectionId,
    string Collection,
    string Name,
    string ContentType,
    long Size,
    string Status,
    string? Error,
    int Chunks,
    int Pages,
    DateTimeOffset CreatedAt,
    DateTimeOffset? IndexedAt,
    string? UploadedBy);

/// <summary>One indexed passage of a document: where it sits (title path, page) and its text.</summary>
public sealed record KnowledgeChunkDto(int Ordinal, string SourceId, string TitlePath, int? Page, string Text);

/// <summary><c>GET /api/v1/knowledge/documents/{idOrKey}</c>: the document as indexed, passage by passage.</summary>
public sealed record KnowledgeDocumentView(KnowledgeDocumentDto Document, IReadOnlyList<KnowledgeChunkDto> Chunks);

/// <summary>
/// One search hit, as <c>search_knowledge</c> returns it and <c>tool_result</c> messages carry it. <c>sourceId</c> is stable
/// for the document's life (<c>{document key}-{chunk}</c>); answers cite it in square brackets.
/// </summary>
public sealed record KnowledgeHit(
    string SourceId,
    string Collection,
    Guid DocumentId,
    string Document,
    string TitlePath,
    int? Page,
    string Snippet,
    double Score,
    IReadOnlyList<string> MatchedBy);

/// <summary>
/// A search's answer: the mode used and, when semantic search is not available (no embedding provider configured, or it
/// failed), a notice saying so.
/// </summary>
public sealed record KnowledgeSearchResult(string Mode, string? Notice, IReadOnlyList<KnowledgeHit> Hits);

/// <summary><c>GET /api/v1/knowledge/status</c>: is semantic search on, with what.</summary>
public sealed record KnowledgeStatusDto(bool Semantic, string? Provider, string? Model, int Chunks, int Embedded, long MaxDocumentBytes);

public static partial class SourceIds
{
    /// <summary>A citation as answers write it: <c>[3f2a9c1b-4]</c>.</summary>
    [GeneratedRegex(@"\[([0-9a-f]{8})-(\d{1,6})\]")]
    public static partial Regex Citation();

    public static string Of(string documentKey, int ordinal) => $"{documentKey}-{ordinal}";
}
