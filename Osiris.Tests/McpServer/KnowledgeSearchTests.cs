using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osiris.McpServer.Knowledge;

namespace Osiris.Tests.McpServer;

/// <summary>Known-answer queries on the docs that ship with OSIRIS, and an index that persists and follows its folder.</summary>
public sealed class KnowledgeSearchTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-knowledge-" + Guid.NewGuid().ToString("N"));

    public KnowledgeSearchTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private KnowledgeIndex Index(string? folder = null) => new(
        Options.Create(new KnowledgeOptions { Folder = folder, IndexPath = Path.Combine(_temp, "index.db") }),
        new TestEnvironment(),
        NullLogger<KnowledgeIndex>.Instance);

    private sealed class TestEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "Osiris.McpServer";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }

    [Theory]
    [InlineData("how do I replay events after a reconnect with Last-Event-ID", "events.md", "Replay after a reconnect")]
    [InlineData("infrastructure mode auto containers local embedded", "infrastructure.md", "Infrastructure modes")]
    [InlineData("bubblewrap sandbox network process limits", "mcp-server.md", "The sandbox (run_command)")]
    [InlineData("X-Osiris-Task header workspace root", "mcp-server.md", "Workspaces")]
    [InlineData("awaiting_approval approve tool call", "tasks-api.md", "Approvals")]
    [InlineData("which project may reference ServiceDefaults boundaries", "architecture.md", "Boundaries")]
    public async Task TheShippedDocsAnswerKnownQuestions(string query, string source, string section)
    {
        var hits = await Index().SearchAsync(query, 3, TestContext.Current.CancellationToken);
        Assert.NotEmpty(hits);
        Assert.Equal((source, section), (hits[0].Source, hits[0].Section));
        Assert.True(hits[0].Score > 0);
        Assert.Contains("**", hits[0].Snippet);
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score), "results must be ordered by score");
    }

    [Fact]
    public async Task TheIndexSurvivesARestartAndFollowsAddedChangedAndRemovedFiles()
    {
        var docs = Path.Combine(_temp, "docs");
        Directory.CreateDirectory(docs);
        var alpha = Path.Combine(docs, "alpha.md");
        File.WriteAllText(alpha, "# Alpha\nThe quokka lives on Rottnest island.\n");
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("alpha.md", (await Index(docs).SearchAsync("quokka", 5, ct)).Single().Source);

        // Same size, same timestamp, different words: a fresh instance (a restart) answers from the stored index.
        var stamp = File.GetLastWriteTimeUtc(alpha);
        File.WriteAllText(alpha, "# Alpha\nThe wombat lives on Rottnest island.\n");
        File.SetLastWriteTimeUtc(alpha, stamp);
        Assert.Single(await Index(docs).SearchAsync("quokka", 5, ct));

        // A real change (new timestamp) is picked up; an added file appears; a removed one disappears.
        File.WriteAllText(alpha, "# Alpha\nThe numbat lives in Western Australia.\n");
        File.SetLastWriteTimeUtc(alpha, stamp.AddMinutes(1));
        File.WriteAllText(Path.Combine(docs, "beta.txt"), "Platypus notes: the platypus lays eggs.");
        var index = Index(docs);
        Assert.Empty(await index.SearchAsync("quokka", 5, ct));
        Assert.Equal("alpha.md", (await index.SearchAsync("numbat", 5, ct)).Single().Source);
        Assert.Equal("beta.txt", (await index.SearchAsync("platypus eggs", 5, ct)).Single().Source);

        File.Delete(Path.Combine(docs, "beta.txt"));
        Assert.Empty(await index.SearchAsync("platypus", 5, ct));
    }

    [Fact]
    public async Task QueriesAreWordsNotSearchSyntax()
    {
        var hits = await Index().SearchAsync("\"unbalanced AND (OR* NEAR/ -- ;DROP TABLE chunks", 5, TestContext.Current.CancellationToken);
        Assert.NotNull(hits);
        Assert.NotEmpty(await Index().SearchAsync("sandboxes", 5, TestContext.Current.CancellationToken));
    }
}

/// <summary>search_knowledge through the protocol, on the docs that ship with OSIRIS.</summary>
public sealed class SearchKnowledgeToolTests(SearchKnowledgeToolTests.Server server) : IClassFixture<SearchKnowledgeToolTests.Server>
{
    public sealed class Server() : McpServerHost;

    [Fact]
    public async Task SearchKnowledgeReturnsSourceSnippetAndScore()
    {
        await using var client = await server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        var result = await client.CallAsync("search_knowledge", new { query = "DNS rebinding Origin Host", limit = 3 });
        result.AssertSucceeded();
        var first = result.Structured().GetProperty("results")[0];
        Assert.Equal("mcp-server.md", first.GetProperty("source").GetString());
        Assert.Equal("Endpoint security", first.GetProperty("section").GetString());
        Assert.Contains("**", first.GetProperty("snippet").GetString());
        Assert.True(first.GetProperty("score").GetDouble() > 0);
    }
}
