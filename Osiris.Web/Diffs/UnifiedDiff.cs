using System.Globalization;
using System.Text.RegularExpressions;

namespace Osiris.Web.Diffs;

public enum DiffLineKind
{
    Context,
    Added,
    Removed,
    Hunk,
}

/// <summary>One line of a unified diff with its old and new line numbers (null where the side has none).</summary>
public sealed record DiffLine(DiffLineKind Kind, string Text, int? OldNumber, int? NewNumber);

/// <summary>One row of the side-by-side view: a removed line facing the added line that replaced it.</summary>
public sealed record SplitRow(DiffLine? Left, DiffLine? Right);

/// <summary>Reads the unified diff text of an <c>artifact_stream</c> event (as <c>diff -u</c> and DiffPlex write it).</summary>
public static partial class UnifiedDiff
{
    [GeneratedRegex(@"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")]
    private static partial Regex HunkHeader();

    public static IReadOnlyList<DiffLine> Parse(string diff)
    {
        var lines = new List<DiffLine>();
        int oldLine = 0, newLine = 0;
        foreach (var raw in diff.ReplaceLineEndings("\n").Split('\n'))
        {
            if (raw.StartsWith("--- ", StringComparison.Ordinal) || raw.StartsWith("+++ ", StringComparison.Ordinal) ||
                raw.StartsWith("diff ", StringComparison.Ordinal) || raw.StartsWith("index ", StringComparison.Ordinal) || raw.StartsWith('\\'))
            {
                continue; // file headers and "\ No newline at end of file"
            }
            var hunk = HunkHeader().Match(raw);
            if (hunk.Success)
            {
                oldLine = int.Parse(hunk.Groups[1].Value, CultureInfo.InvariantCulture);
                newLine = int.Parse(hunk.Groups[2].Value, CultureInfo.InvariantCulture);
                lines.Add(new DiffLine(DiffLineKind.Hunk, raw, null, null));
            }
            else if (raw.StartsWith('+'))
            {
                lines.Add(new DiffLine(DiffLineKind.Added, raw[1..], null, newLine++));
            }
            else if (raw.StartsWith('-'))
            {
                lines.Add(new DiffLine(DiffLineKind.Removed, raw[1..], oldLine++, null));
            }
            else if (raw.StartsWith(' ') || raw.Length == 0 && lines.Count > 0)
            {
                lines.Add(new DiffLine(DiffLineKind.Context, raw.Length > 0 ? raw[1..] : "", oldLine++, newLine++));
            }
        }
        // A trailing empty line is the text's final newline, not a context line.
        if (lines.Count > 0 && lines[^1] is { Kind: DiffLineKind.Context, Text: "" } && diff.EndsWith('\n'))
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines;
    }

    /// <summary>Pairs each run of removed lines with the run of added lines that follows it.</summary>
    public static IReadOnlyList<SplitRow> ToSplitRows(IReadOnlyList<DiffLine> lines)
    {
        var rows = new List<SplitRow>();
        var removed = new List<DiffLine>();
        var added = new List<DiffLine>();
        void Flush()
        {
            for (var i = 0; i < Math.Max(removed.Count, added.Count); i++)
            {
                rows.Add(new SplitRow(i < removed.Count ? removed[i] : null, i < added.Count ? added[i] : null));
            }
            removed.Clear();
            added.Clear();
        }
        foreach (var line in lines)
        {
            switch (line.Kind)
            {
                case DiffLineKind.Removed when added.Count == 0:
                    removed.Add(line);
                    break;
                case DiffLineKind.Removed:
                    Flush();
                    removed.Add(line);
                    break;
                case DiffLineKind.Added:
                    added.Add(line);
                    break;
                default:
                    Flush();
                    rows.Add(new SplitRow(line, line));
                    break;
            }
        }
        Flush();
        return rows;
    }

    public static (int Added, int Removed) Count(IReadOnlyList<DiffLine> lines) =>
        (lines.Count(l => l.Kind == DiffLineKind.Added), lines.Count(l => l.Kind == DiffLineKind.Removed));
}
