using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;

namespace Osiris.Agent.Tools;

/// <summary><c>Agent:Mcp</c>: where the OSIRIS MCP server is and its token (the AppHost's <c>mcp-token</c>).</summary>
public sealed class McpOptions
{
    public const string Section = "Agent:Mcp";

    /// <summary>Defaults to the service-discovery address of <c>mcpserver</c> plus <c>/mcp</c>.</summary>
    public string? Endpoint { get; set; }

    public string Token { get; set; } = "";
}

/// <summary>Opens a task's MCP session: the <c>X-Osiris-Task</c> header fixes the session to the task's workspace.</summary>
public sealed class McpToolbox(IOptions<McpOptions> options, IConfiguration configuration, ILoggerFactory loggers)
{
    public async Task<(McpClient Client, IList<McpClientTool> Tools)> ConnectAsync(Guid taskId, CancellationToken ct)
    {
        var endpoint = options.Value.Endpoint
            ?? (configuration["services:mcpserver:http:0"] is { Length: > 0 } service ? service.TrimEnd('/') + "/mcp" : null)
            ?? throw new InvalidOperationException("No MCP server address: set Agent:Mcp:Endpoint or run through the AppHost.");
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(endpoint),
            TransportMode = HttpTransportMode.StreamableHttp,
            Name = $"osiris-task-{taskId}",
            AdditionalHeaders = new Dictionary<string, string>
            {
                ["X-Osiris-Task"] = taskId.ToString(),
                ["Authorization"] = $"Bearer {options.Value.Token}",
            },
        }, loggers);
        var client = await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new() { Name = "osiris-agent", Version = "1.0" },
        }, loggers, ct);
        var tools = await client.ListToolsAsync(cancellationToken: ct);
        return (client, tools);
    }
}
