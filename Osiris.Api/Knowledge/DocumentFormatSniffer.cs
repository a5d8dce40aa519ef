using System.Text;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Knowledge;

/// <summary>
/// Decides an upload's format from its bytes, with the name's extension only choosing between text formats: a PDF is
/// a PDF because it starts with <c>%PDF-</c>, not because it is called .pdf. Null: not a format the knowledge base reads.
/// </summary>
public static class DocumentFormatSniffer
{
    public static string? Sniff(string fileName, ReadOnlySpan<byte> content)
    {
        if (content.StartsWith("%PDF-"u8))
        {
            return DocumentFormats.Pdf;
        }
        if (!IsText(content))
        {
            return null;
        }
        var extension = Path.GetExtension(fileName).ToLowerInvariant();
        var head = Encoding.UTF8.GetString(content[..Math.Min(content.Length, 1024)]).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (extension is ".html" or ".htm" || head.StartsWith("<!doctype html", StringComparison.OrdinalIgnoreCase)
            || head.StartsWith("<html", StringComparison.OrdinalIgnoreCase))
        {
            return DocumentFormats.Html;
        }
        return extension switch
        {
            ".md" or ".markdown" => DocumentFormats.Markdown,
            ".txt" or ".text" or "" => DocumentFormats.Text,
            _ => null,
        };
    }

    /// <summary>Strict UTF-8 without NUL bytes (which no text document has and every binary format does).</summary>
    private static bool IsText(ReadOnlySpan<byte> content)
    {
        if (content.Contains((byte)0))
        {
            return false;
        }
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(content);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
