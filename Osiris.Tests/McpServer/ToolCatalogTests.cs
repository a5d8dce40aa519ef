using System.Text.Json;

namespace Osiris.Tests.McpServer;

public sealed class ToolCatalogTests(ToolCatalogTests.Server server) : IClassFixture<ToolCatalogTests.Server>
{
    public sealed class Server() : McpServerHost;

    [Fact]
    public async Task TheFiveToolsAreListedWithDescriptionsAndSchemas()
    {
        await using var client = await server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["list_dir", "read_file", "run_command", "search_knowledge", "write_file"], tools.Select(t => t.Name).Order());
        foreach (var tool in tools)
        {
            Assert.True(tool.Description.Length > 80, $"{tool.Name} needs a fuller description");
            var properties = tool.JsonSchema.GetProperty("properties");
            Assert.All(properties.EnumerateObject(), p => Assert.True(p.Value.TryGetProperty("description", out _), $"{tool.Name}.{p.Name} has no description"));
        }
        var read = tools.Single(t => t.Name == "read_file").JsonSchema;
        Assert.Equal(["path"], read.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Object, read.GetProperty("properties").GetProperty("startLine").ValueKind);
    }

    [Fact]
    public async Task WriteFileReturnsAUnifiedDiffOfTheChange()
    {
        await using var client = await server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        (await client.CallAsync("write_file", new { path = "a.txt", content = "one\ntwo\nthree\n" })).AssertSucceeded();

        var update = await client.CallAsync("write_file", new { path = "a.txt", content = "one\n2\nthree\n" });
        update.AssertSucceeded();
        var diff = update.Structured().GetProperty("diff").GetString()!;
        Assert.Contains("--- a/a.txt", diff);
        Assert.Contains("+++ b/a.txt", diff);
        Assert.Contains("@@ -1,3 +1,3 @@", diff);
        Assert.Contains("\n-two", diff);
        Assert.Contains("\n+2", diff);
        Assert.Equal(12, update.Structured().GetProperty("size").GetInt32());
        Assert.False(update.Structured().GetProperty("created").GetBoolean());
    }
}
