namespace Osiris.McpServer.Knowledge;

/// <summary>A stretch of a document under one chain of headings (and on one page, for PDF): what the chunker cuts.</summary>
public sealed record DocumentSection(IReadOnlyList<string> Headings, int? Page, string Text);

/// <summary>A document read for indexing: its sections in order and how many pages it has (1 for formats without pages).</summary>
public sealed record DocumentText(IReadOnlyList<DocumentSection> Sections, int Pages);

/// <summary>A document that cannot be indexed, with a reason a person can act on (shown as the document's error).</summary>
public sealed class UnreadableDocumentException(string message, Exception? inner = null) : Exception(message, inner);
