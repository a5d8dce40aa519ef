using System.Globalization;
using System.Text.RegularExpressions;

namespace Osiris.Tests.Benchmarks;

/// <summary>
/// The knowledge benchmark on a small corpus, on SQLite: it prints every figure, says that semantic search was not
/// measured (no provider here), and lexical search answers most of the evaluation questions asked in the documents' words.
/// </summary>
public sealed partial class KnowledgeBenchmarkSmokeTests
{
    [Fact]
    public async Task TheKnowledgeBenchmarkPrintsItsFiguresAndLexicalSearchAnswersTheLexicalQuestions()
    {
        var text = await BenchmarkRun.RunAsync(["knowledge", "--mode", "embedded", "--chunks", "500", "--vectors", "2000", "--pages", "20"], TimeSpan.FromMinutes(4));
        Assert.Contains("semantic and fused search are not measured; no model is faked", text);
        Assert.Contains("| semantic | — | not measured: no embedding provider configured |", text);
        Assert.Matches(@"indexing PDF: [0-9]+ pages/s", text);
        Assert.Matches(@"indexing Markdown: [0-9]+ passages/s", text);
        Assert.Matches(@"lexical query over [0-9,]+ passages: p50 [0-9.]+ ms, p99 [0-9.]+ ms", text);
        Assert.Matches(@"exact vector search over 2,000 vectors: p50 [0-9.]+ ms", text);

        var lexical = LexicalRow().Match(text);
        Assert.True(lexical.Success, $"no lexical row in:\n{text}");
        var recallOnLexicalQuestions = double.Parse(lexical.Groups["lexical"].Value, CultureInfo.InvariantCulture);
        Assert.True(recallOnLexicalQuestions >= 0.8, $"lexical search found {recallOnLexicalQuestions:P0} of the questions asked in the documents' words within 5 hits");
    }

    [GeneratedRegex(@"\| lexical \| [0-9]+ \| (?<recall>[0-9.]+) \| (?<mrr>[0-9.]+) \| (?<lexical>[0-9.]+) \| (?<paraphrase>[0-9.]+) \|")]
    private static partial Regex LexicalRow();
}
