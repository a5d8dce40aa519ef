using DiffPlex.Renderer;

namespace Osiris.McpServer.Workspaces;

/// <summary>Unified diffs as <c>diff -u</c> prints them: what write_file returns and what a checkpoint diff shows.</summary>
public static class TextDiff
{
    public static string Unified(string oldText, string newText, string path)
    {
        // DiffPlex counts the empty piece after a final newline as a line; drop it when both sides end with one,
        // so hunk headers match what diff -u prints.
        if ((oldText.Length == 0 || oldText.EndsWith('\n')) && newText.EndsWith('\n'))
        {
            (oldText, newText) = (oldText.Length == 0 ? "" : oldText[..^1], newText[..^1]);
        }
        return UnidiffRenderer.GenerateUnidiff(oldText, newText, $"a/{path}", $"b/{path}", false, false, 3);
    }
}
