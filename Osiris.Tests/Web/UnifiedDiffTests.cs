using Osiris.Web.Diffs;

namespace Osiris.Tests.Web;

/// <summary>The diff the MCP server writes for a changed file, and the web's reading of it, line numbers included.</summary>
[Trait("Category", "Unit")]
public sealed class UnifiedDiffTests
{
    private const string Before = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";
    private const string After = "one\ntwo\nthree\nfour\nFIVE\nsix\nseven\neight\nnine\nten\neleven\n";

    [Fact]
    public void TheServerWritesHunkHeadersAsDiffUDoes()
    {
        var diff = Osiris.McpServer.Workspaces.TextDiff.Unified(Before, After, "src/count.txt");
        var lines = diff.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("--- a/src/count.txt", lines[0]);
        Assert.Equal("+++ b/src/count.txt", lines[1]);
        // diff -u: line 5 changed and line 11 added, three lines of context, one hunk covering old 2-10 / new 2-11.
        Assert.Equal("@@ -2,9 +2,10 @@", lines[2].TrimEnd());
        Assert.Contains("-five", lines);
        Assert.Contains("+FIVE", lines);
        Assert.Contains("+eleven", lines);
    }

    [Fact]
    public void ANewFileIsOneHunkOfAddedLines()
    {
        var diff = Osiris.McpServer.Workspaces.TextDiff.Unified("", "a\nb\n", "new.txt");
        var parsed = UnifiedDiff.Parse(diff);
        Assert.Equal([DiffLineKind.Hunk, DiffLineKind.Added, DiffLineKind.Added], parsed.Select(l => l.Kind));
        Assert.Equal([1, 2], parsed.Where(l => l.Kind == DiffLineKind.Added).Select(l => l.NewNumber!.Value));
        Assert.Equal((2, 0), UnifiedDiff.Count(parsed));
    }

    [Fact]
    public void TheWebNumbersEachSideAndPairsRemovedWithAddedLines()
    {
        var parsed = UnifiedDiff.Parse(Osiris.McpServer.Workspaces.TextDiff.Unified(Before, After, "count.txt"));
        var removed = Assert.Single(parsed, l => l.Kind == DiffLineKind.Removed);
        Assert.Equal(("five", 5, (int?)null), (removed.Text, removed.OldNumber!.Value, removed.NewNumber));
        var added = parsed.Where(l => l.Kind == DiffLineKind.Added).ToList();
        Assert.Equal([("FIVE", 5), ("eleven", 11)], added.Select(l => (l.Text, l.NewNumber!.Value)));
        var lastContext = parsed.Last(l => l.Kind == DiffLineKind.Context);
        Assert.Equal(("ten", 10, 10), (lastContext.Text, lastContext.OldNumber!.Value, lastContext.NewNumber!.Value));

        var rows = UnifiedDiff.ToSplitRows(parsed);
        var changed = Assert.Single(rows, r => r.Left?.Kind == DiffLineKind.Removed);
        Assert.Equal("FIVE", changed.Right?.Text);
        var onlyAdded = Assert.Single(rows, r => r.Left is null);
        Assert.Equal("eleven", onlyAdded.Right?.Text);
    }

    [Fact]
    public void FileHeadersAndTheNoNewlineMarkerAreNotLines()
    {
        const string diff = "diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n";
        var parsed = UnifiedDiff.Parse(diff);
        Assert.Equal([DiffLineKind.Hunk, DiffLineKind.Removed, DiffLineKind.Added], parsed.Select(l => l.Kind));
    }
}
