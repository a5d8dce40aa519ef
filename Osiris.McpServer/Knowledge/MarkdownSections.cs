using System.Text;

namespace Osiris.McpServer.Knowledge;

/// <summary>Splits a document at its Markdown headings, so a hit points at a section rather than a whole file.</summary>
public static class MarkdownSections
{
    public static IEnumerable<(string Heading, string Body)> Split(string fileName, string text)
    {
        var heading = Path.GetFileNameWithoutExtension(fileName);
        var body = new StringBuilder();
        var inFence = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }
            if (!inFence && line.StartsWith('#') && line.TrimStart('#').StartsWith(' '))
            {
                if (body.ToString().Trim().Length > 0)
                {
                    yield return (heading, body.ToString().Trim());
                }
                heading = line.TrimStart('#').Trim();
                body.Clear();
                continue;
            }
            body.AppendLine(line);
        }
        if (body.ToString().Trim().Length > 0)
        {
            yield return (heading, body.ToString().Trim());
        }
    }
}
