using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using Osiris.Shared.Contracts;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace Osiris.McpServer.Knowledge;

/// <summary>
/// Turns a stored document into sections along its own structure: Markdown headings, HTML h1–h6, capitalised title
/// lines in plain text, pages in PDF. The content type was decided by the API from the bytes when it accepted the upload.
/// </summary>
public static class DocumentReaders
{
    public static DocumentText Read(string contentType, byte[] content)
    {
        var text = contentType switch
        {
            DocumentFormats.Pdf => ReadPdf(content),
            DocumentFormats.Html => ReadHtml(Decode(content)),
            DocumentFormats.Markdown => new DocumentText(ReadMarkdown(Decode(content)), 1),
            DocumentFormats.Text => new DocumentText(ReadPlainText(Decode(content)), 1),
            _ => throw new UnreadableDocumentException($"'{contentType}' is not a format the knowledge base reads."),
        };
        if (text.Sections.All(s => string.IsNullOrWhiteSpace(s.Text)))
        {
            throw new UnreadableDocumentException(contentType == DocumentFormats.Pdf
                ? "The PDF has no text layer (scanned pages?); OSIRIS does not run OCR, so there is nothing to search."
                : "The document has no text to search.");
        }
        return text;
    }

    private static string Decode(byte[] content)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content).TrimStart('\uFEFF');
        }
        catch (DecoderFallbackException)
        {
            throw new UnreadableDocumentException("The document is not valid UTF-8 text.");
        }
    }

    public static List<DocumentSection> ReadMarkdown(string text)
    {
        var sections = new List<DocumentSection>();
        var headings = new List<(int Level, string Title)>();
        var body = new StringBuilder();
        var fence = false;
        void Flush()
        {
            if (body.ToString().Trim() is { Length: > 0 } done)
            {
                sections.Add(new DocumentSection(headings.Select(h => h.Title).ToList(), null, done));
            }
            body.Clear();
        }
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal) || line.TrimStart().StartsWith("~~~", StringComparison.Ordinal))
            {
                fence = !fence;
            }
            var level = line.TakeWhile(c => c == '#').Count();
            if (!fence && level is >= 1 and <= 6 && line.Length > level && line[level] == ' ')
            {
                Flush();
                headings.RemoveAll(h => h.Level >= level);
                headings.Add((level, line[level..].Trim().TrimEnd('#').Trim()));
                continue;
            }
            body.AppendLine(line);
        }
        Flush();
        return sections;
    }

    /// <summary>Paragraphs between blank lines; a short line in capitals on its own is a section title.</summary>
    public static List<DocumentSection> ReadPlainText(string text)
    {
        var sections = new List<DocumentSection>();
        string? title = null;
        var body = new StringBuilder();
        foreach (var block in text.Replace("\r\n", "\n").Split("\n\n"))
        {
            var lines = block.Trim('\n').Split('\n');
            var first = lines[0].Trim();
            if (first.Length is > 2 and <= 80 && first.Any(char.IsUpper) && !first.Any(char.IsLower))
            {
                if (body.ToString().Trim() is { Length: > 0 } done)
                {
                    sections.Add(new DocumentSection(title is null ? [] : [title], null, done));
                }
                body.Clear();
                title = first.TrimEnd(':');
                lines = lines[1..];
            }
            body.AppendJoin('\n', lines).Append("\n\n");
        }
        if (body.ToString().Trim() is { Length: > 0 } last)
        {
            sections.Add(new DocumentSection(title is null ? [] : [title], null, last));
        }
        return sections;
    }

    /// <summary>What a reader never sees: code, styles, navigation, embedded frames and anything marked hidden.</summary>
    private const string Invisible = "script, style, nav, noscript, template, iframe, svg, object, [hidden], [aria-hidden=true]";

    /// <summary>Deeper nesting is read as plain text (the walk below recurses).</summary>
    private const int MaxDepth = 64;

    /// <summary>Deeper documents are refused before anything walks them recursively: a crafted one must not exhaust the stack.</summary>
    private const int MaxNesting = 1_000;

    private static readonly HashSet<string> Unnested =
    [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", // void
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "tbody", "thead", "tfoot", "colgroup", "caption",
        "html", "head", "body", // closed by the parser on their own
    ];

    /// <summary>
    /// How deep the tags nest, read from the text in one pass: start tags that the parser keeps open count up, end tags
    /// down; comments and the insides of scripts and styles are skipped.
    /// </summary>
    public static int ApproximateDepth(string html)
    {
        int depth = 0, deepest = 0;
        for (var i = html.IndexOf('<'); i >= 0 && i < html.Length - 1; i = html.IndexOf('<', i + 1))
        {
            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                if (end < 0)
                {
                    break;
                }
                i = end;
                continue;
            }
            var closing = html[i + 1] == '/';
            var start = i + (closing ? 2 : 1);
            var stop = start;
            while (stop < html.Length && (char.IsAsciiLetterOrDigit(html[stop]) || html[stop] == '-'))
            {
                stop++;
            }
            if (stop == start || !char.IsAsciiLetter(html[start]))
            {
                continue;
            }
            var name = html[start..stop].ToLowerInvariant();
            if (Unnested.Contains(name))
            {
                continue;
            }
            if (closing)
            {
                depth = Math.Max(0, depth - 1);
                continue;
            }
            var tagEnd = html.IndexOf('>', stop);
            if (tagEnd > 0 && html[tagEnd - 1] == '/')
            {
                continue; // self-closing
            }
            if (name is "script" or "style" && html.IndexOf($"</{name}", stop, StringComparison.OrdinalIgnoreCase) is var after and > 0)
            {
                i = after;
                continue;
            }
            deepest = Math.Max(deepest, ++depth);
        }
        return deepest;
    }

    /// <summary>The deepest element nesting, counted without recursion.</summary>
    private static int Depth(IDocument document)
    {
        var deepest = 0;
        var pending = new Stack<(INode Node, int Depth)>();
        pending.Push((document, 0));
        while (pending.TryPop(out var item))
        {
            deepest = Math.Max(deepest, item.Depth);
            foreach (var child in item.Node.ChildNodes)
            {
                if (child is IElement)
                {
                    pending.Push((child, item.Depth + 1));
                }
            }
        }
        return deepest;
    }
    private static readonly HashSet<string> Blocks = ["p", "li", "pre", "blockquote", "tr", "dt", "dd", "figcaption", "caption", "address", "summary"];

    public static DocumentText ReadHtml(string html)
    {
        // Parsing deep nesting costs the parser time in the square of the depth, and walking it costs stack: both are
        // bounded before and after parsing.
        if (ApproximateDepth(html) > MaxNesting)
        {
            throw new UnreadableDocumentException($"The HTML is nested more than {MaxNesting:N0} elements deep; no real page is. Save it again from a browser or as text.");
        }
        var document = new HtmlParser().ParseDocument(html);
        if (Depth(document) > MaxNesting)
        {
            throw new UnreadableDocumentException($"The HTML is nested more than {MaxNesting:N0} elements deep; no real page is. Save it again from a browser or as text.");
        }
        foreach (var invisible in document.QuerySelectorAll(Invisible).ToList())
        {
            invisible.Remove();
        }
        var sections = new List<DocumentSection>();
        var headings = new List<(int Level, string Title)>();
        var body = new StringBuilder();
        void Flush()
        {
            if (body.ToString().Trim() is { Length: > 0 } done)
            {
                sections.Add(new DocumentSection(headings.Select(h => h.Title).ToList(), null, done));
            }
            body.Clear();
        }
        void Walk(INode node, int depth)
        {
            foreach (var child in node.ChildNodes)
            {
                if (child is IText textNode)
                {
                    if (textNode.Text.Trim() is { Length: > 0 } loose)
                    {
                        body.Append(Collapse(loose)).Append('\n');
                    }
                    continue;
                }
                if (child is not IElement element)
                {
                    continue;
                }
                if (depth >= MaxDepth)
                {
                    body.Append(Collapse(element.TextContent)).Append("\n\n");
                    continue;
                }
                if (element.LocalName is ['h', >= '1' and <= '6'] heading)
                {
                    Flush();
                    var level = heading[1] - '0';
                    headings.RemoveAll(h => h.Level >= level);
                    headings.Add((level, Collapse(element.TextContent)));
                }
                else if (element.LocalName == "tr")
                {
                    body.AppendJoin(" | ", element.Children.Select(cell => Collapse(cell.TextContent))).Append('\n');
                }
                else if (Blocks.Contains(element.LocalName) && !element.Descendants<IElement>().Any(e => Blocks.Contains(e.LocalName) || e.LocalName.Length == 2 && e.LocalName[0] == 'h' && char.IsDigit(e.LocalName[1])))
                {
                    var text = element.LocalName == "pre" ? element.TextContent.Trim('\n') : Collapse(element.TextContent);
                    body.Append(element.LocalName == "li" ? "- " : "").Append(text).Append("\n\n");
                }
                else
                {
                    Walk(element, depth + 1);
                }
            }
        }
        Walk((INode?)document.Body ?? document, 0);
        Flush();
        var title = document.Title?.Trim();
        return new DocumentText(sections.Count > 0 && headings.Count == 0 && sections.All(s => s.Headings.Count == 0) && title is { Length: > 0 }
            ? sections.Select(s => s with { Headings = [title] }).ToList()
            : sections, 1);
    }

    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    public static DocumentText ReadPdf(byte[] content)
    {
        try
        {
            using var pdf = PdfDocument.Open(content);
            var sections = new List<DocumentSection>();
            foreach (var page in pdf.GetPages())
            {
                var text = ContentOrderTextExtractor.GetText(page);
                if (!string.IsNullOrWhiteSpace(text))
                {
                    sections.Add(new DocumentSection([], page.Number, text.Trim()));
                }
            }
            return new DocumentText(sections, pdf.NumberOfPages);
        }
        catch (UglyToad.PdfPig.Exceptions.PdfDocumentEncryptedException)
        {
            throw new UnreadableDocumentException("The PDF is encrypted (password-protected); upload a copy without a password.");
        }
        catch (Exception ex) when (ex is not UnreadableDocumentException and not OutOfMemoryException)
        {
            throw new UnreadableDocumentException($"The PDF could not be read: {ex.Message}", ex);
        }
    }
}
