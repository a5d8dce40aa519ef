using System.Text.Json;
using ModelContextProtocol.Client;

namespace Osiris.Tests.McpServer;

/// <summary>The server as a child process over stdio: the SDK's client works with it, and stdout carries JSON-RPC only.</summary>
public sealed class StdioTransportTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-stdio-" + Guid.NewGuid().ToString("N"));

    public StdioTransportTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string[] Arguments => [ExternalProcess.ServerDll, "--stdio", "--root", Path.Combine(_temp, "ws"), $"--ConnectionStrings:osiris=Data Source={Path.Combine(_temp, "osiris.db")}"];

    [Fact]
    public async Task TheSdkClientUsesTheServerOverStdio()
    {
        var stderr = new List<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = Arguments,
            WorkingDirectory = AppContext.BaseDirectory,
            StandardErrorLines = line => { lock (stderr) { stderr.Add(line); } },
        });
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: TestContext.Current.CancellationToken);

        (await client.CallAsync("write_file", new { path = "a/b.txt", content = "over stdio" })).AssertSucceeded();
        Assert.Equal("over stdio", File.ReadAllText(Path.Combine(_temp, "ws", "a", "b.txt")));
        var search = await client.CallAsync("search_knowledge", new { query = "stdio JSON-RPC stderr" });
        Assert.Equal("mcp-server.md", search.Structured().GetProperty("results")[0].GetProperty("document").GetString());
    }

    [Fact]
    public async Task UnderStdioEveryStdoutLineIsJsonRpcAndLogsGoToStderr()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in Arguments.Append("--Logging:LogLevel:Default=Debug"))
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
        await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
        await process.StandardInput.FlushAsync(TestContext.Current.CancellationToken);

        var lines = new List<string>();
        while (lines.Count < 2 && await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
        {
            lines.Add(line);
        }
        process.StandardInput.Close();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        lines.AddRange((await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.All(lines, line => Assert.Equal("2.0", JsonDocument.Parse(line).RootElement.GetProperty("jsonrpc").GetString()));
        Assert.Contains(lines, line => line.Contains("\"id\":2") && line.Contains("read_file"));
        Assert.NotEmpty(await stderr); // the debug logs went somewhere, and not to stdout
    }
}
