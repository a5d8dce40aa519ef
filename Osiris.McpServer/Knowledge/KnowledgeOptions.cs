namespace Osiris.McpServer.Knowledge;

public sealed class KnowledgeOptions
{
    public const string Section = "Knowledge";

    /// <summary>Folder of Markdown and text documents; by default the docs/ folder that ships with OSIRIS.</summary>
    public string? Folder { get; set; }

    /// <summary>SQLite file holding the full-text index; by default under the data folder.</summary>
    public string? IndexPath { get; set; }
}
