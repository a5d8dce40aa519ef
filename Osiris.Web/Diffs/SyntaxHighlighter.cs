using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Components;

namespace Osiris.Web.Diffs;

/// <summary>
/// Line-by-line highlighting of the languages agents write most (C-family, Python, shell, JSON, YAML, Markdown).
/// A diff shows lines out of their file, so a lexer per line (comments, strings, numbers, keywords) is what fits;
/// every piece of source text is HTML-encoded before it is wrapped.
/// </summary>
public static partial class SyntaxHighlighter
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "async", "await", "bool", "break", "case", "catch", "class", "const", "continue", "def", "default",
        "del", "do", "elif", "else", "enum", "except", "export", "extends", "false", "False", "finally", "fn", "for", "from",
        "func", "function", "if", "import", "in", "int", "interface", "is", "lambda", "let", "namespace", "new", "None",
        "not", "null", "or", "and", "package", "pass", "private", "protected", "public", "raise", "record", "return",
        "sealed", "static", "string", "struct", "switch", "then", "fi", "done", "this", "throw", "true", "True", "try",
        "type", "using", "var", "void", "while", "with", "yield", "echo", "local", "readonly", "self", "impl", "pub", "mut",
    };

    [GeneratedRegex("""(?<comment>//.*$|#(?!include).*$|--\s.*$)|(?<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?)|(?<number>\b\d+(?:\.\d+)?\b)|(?<word>[A-Za-z_][A-Za-z0-9_]*)""")]
    private static partial Regex Token();

    public static string LanguageOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".cs" or ".java" or ".js" or ".ts" or ".tsx" or ".jsx" or ".go" or ".rs" or ".c" or ".h" or ".cpp" or ".kt" or ".swift" => "c",
        ".py" or ".sh" or ".bash" or ".rb" or ".yml" or ".yaml" or ".toml" or ".ini" => "hash",
        ".json" => "json",
        ".sql" => "sql",
        _ => "text",
    };

    public static MarkupString Highlight(string line, string language)
    {
        if (language == "text" || line.Length > 2000)
        {
            return new MarkupString(WebUtility.HtmlEncode(line));
        }
        var html = new StringBuilder(line.Length * 2);
        var last = 0;
        foreach (Match token in Token().Matches(line))
        {
            html.Append(WebUtility.HtmlEncode(line[last..token.Index]));
            var css = Classify(token, language);
            var text = WebUtility.HtmlEncode(token.Value);
            html.Append(css is null ? text : $"<span class=\"tok-{css}\">{text}</span>");
            last = token.Index + token.Length;
        }
        html.Append(WebUtility.HtmlEncode(line[last..]));
        return new MarkupString(html.ToString());
    }

    private static string? Classify(Match token, string language)
    {
        if (token.Groups["comment"].Success)
        {
            var hashComment = token.Value.StartsWith('#');
            var dashComment = token.Value.StartsWith("--", StringComparison.Ordinal);
            return hashComment && language == "hash" || dashComment && language == "sql" || !hashComment && !dashComment && language is "c" or "json"
                ? "comment" : null;
        }
        if (token.Groups["string"].Success)
        {
            return "string";
        }
        if (token.Groups["number"].Success)
        {
            return "number";
        }
        return Keywords.Contains(token.Value) || language == "sql" && Keywords.Contains(token.Value.ToLowerInvariant()) ? "keyword" : null;
    }
}
