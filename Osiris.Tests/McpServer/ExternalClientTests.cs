using System.Text.Json;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.McpServer;

/// <summary>
/// Clients that are not ours: the official MCP Inspector CLI over stdio, and the MCP conformance suite over
/// Streamable HTTP (versions that run on Node 20, see shared/TOOLING-NOTES.md).
/// </summary>
public sealed class ExternalClientTests : IDisposable
{
    private const string Inspector = "@modelcontextprotocol/inspector@0.15.0";
    private const string Conformance = "@modelcontextprotocol/conformance@0.1.13";
    private static readonly TimeSpan NpxTimeout = TimeSpan.FromMinutes(8);

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-external-" + Guid.NewGuid().ToString("N"));

    public ExternalClientTests()
    {
        OptionalSoftware.Require(OptionalSoftware.OnPath("npx") is not null, "Node.js (npx)", "apt-get install -y nodejs npm");
        Directory.CreateDirectory(_temp);
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string[] ServerOverStdio => ["dotnet", ExternalProcess.ServerDll, "--stdio", "--root", Path.Combine(_temp, "ws"), $"--ConnectionStrings:osiris=Data Source={Path.Combine(_temp, "osiris.db")}"];

    private async Task<JsonElement> InspectAsync(params string[] method)
    {
        var (exit, stdout, stderr) = await ExternalProcess.RunAsync("npx", ["-y", Inspector, "--cli", .. ServerOverStdio, .. method], NpxTimeout, _temp);
        Assert.True(exit == 0, $"inspector exited {exit}: {stderr}\n{stdout}");
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Fact]
    public async Task TheMcpInspectorCliListsAndCallsTheToolsOverStdio()
    {
        var list = await InspectAsync("--method", "tools/list");
        Assert.Equal(["list_dir", "read_file", "run_command", "search_knowledge", "write_file"],
            list.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order());

        var write = await InspectAsync("--method", "tools/call", "--tool-name", "write_file", "--tool-arg", "path=hello.txt", "--tool-arg", "content=hi from the inspector");
        Assert.False(write.TryGetProperty("isError", out var isError) && isError.GetBoolean(), write.ToString());
        Assert.Equal("hi from the inspector", File.ReadAllText(Path.Combine(_temp, "ws", "hello.txt")));

        var read = await InspectAsync("--method", "tools/call", "--tool-name", "read_file", "--tool-arg", "path=hello.txt");
        Assert.Contains("hi from the inspector", read.GetProperty("content")[0].GetProperty("text").GetString());

        var refused = await InspectAsync("--method", "tools/call", "--tool-name", "read_file", "--tool-arg", "path=../../etc/passwd");
        Assert.True(refused.GetProperty("isError").GetBoolean());
    }

    [Fact]
    public async Task TheConformanceSuitePassesItsProtocolScenariosAgainstTheBaseline()
    {
        using var server = new McpServerHost(("Mcp:NoAuth", "true"), ("Workspaces:FixedRoot", Path.Combine(_temp, "conformance-ws")));
        var baseline = Path.Combine(AppContext.BaseDirectory, "McpServer", "conformance-baseline.yml");

        var (exit, stdout, stderr) = await ExternalProcess.RunAsync("npx",
            ["-y", Conformance, "server", "--url", server.Endpoint.ToString(), "--expected-failures", baseline], NpxTimeout, _temp);

        Assert.True(exit == 0, $"conformance exited {exit}:\n{stdout}\n{stderr}");
        foreach (var scenario in new[] { "server-initialize", "ping", "tools-list", "logging-set-level", "dns-rebinding-protection" })
        {
            Assert.Matches($"✓ {scenario}: [1-9]\\d* passed, 0 failed", stdout);
        }
    }
}
