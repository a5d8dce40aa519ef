namespace Osiris.McpServer.Knowledge;

public sealed class KnowledgeOptions
{
    public const string Section = "Knowledge";

    /// <summary>Folder of Markdown and text documents kept as the built-in collection; by default the docs/ folder that ships with OSIRIS.</summary>
    public string? Folder { get; set; }

    /// <summary>How often the indexer looks for documents waiting to be indexed or embedded.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an indexer holds a document; a crashed one's claim runs out and another indexer takes it.</summary>
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest passage, in characters; longer sections are cut at paragraph, then sentence boundaries.</summary>
    public int MaxChunkChars { get; set; } = 1600;
}
