using System.Text;

namespace Osiris.McpServer.Knowledge;

/// <summary>A passage ready to store: its place (title path, page) and its text.</summary>
public sealed record Chunk(int Ordinal, string TitlePath, int? Page, string Text);

/// <summary>
/// Cuts sections into passages no longer than a limit: at blank lines first, then at sentence ends, then hard. Each
/// passage keeps its section's title path, so a hit says where in the document it is.
/// </summary>
public static class Chunker
{
    public const string PathSeparator = " › ";

    public static List<Chunk> Cut(string documentName, DocumentText document, int maxChars)
    {
        var chunks = new List<Chunk>();
        foreach (var section in document.Sections)
        {
            var path = string.Join(PathSeparator, section.Headings.Prepend(documentName));
            // NUL never belongs in text (PdfPig can yield it) and PostgreSQL refuses it.
            foreach (var piece in Split(section.Text.Replace("\0", "").Trim(), maxChars))
            {
                chunks.Add(new Chunk(chunks.Count, path.Length <= 1000 ? path : path[..999] + "…", section.Page, piece));
            }
        }
        return chunks;
    }

    private static IEnumerable<string> Split(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            yield return text;
            yield break;
        }
        var current = new StringBuilder();
        foreach (var paragraph in Pieces(text, maxChars))
        {
            if (current.Length > 0 && current.Length + paragraph.Length + 2 > maxChars)
            {
                yield return current.ToString().Trim();
                current.Clear();
            }
            current.Append(paragraph).Append("\n\n");
        }
        if (current.ToString().Trim() is { Length: > 0 } rest)
        {
            yield return rest;
        }
    }

    /// <summary>Paragraphs, with any paragraph over the limit broken at sentence ends (or, failing that, hard).</summary>
    private static IEnumerable<string> Pieces(string text, int maxChars)
    {
        foreach (var paragraph in text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var rest = paragraph;
            while (rest.Length > maxChars)
            {
                var cut = rest.LastIndexOfAny(['.', '!', '?', '\n'], maxChars - 1);
                cut = cut < maxChars / 3 ? rest.LastIndexOf(' ', maxChars - 1) : cut;
                cut = cut < maxChars / 3 ? maxChars - (char.IsHighSurrogate(rest[maxChars - 1]) ? 1 : 0) : cut + 1;
                yield return rest[..cut].Trim();
                rest = rest[cut..].TrimStart();
            }
            if (rest.Length > 0)
            {
                yield return rest;
            }
        }
    }
}
