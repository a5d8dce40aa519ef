using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Osiris.Agent.Tools;

/// <summary><c>Agent:Mcp</c>: where the OSIRIS MCP server is and its token (the AppHost's <c>mcp-token</c>).</summary>
public sealed class McpOptions
{
    public const string Section = "Agent:Mcp";

    /// <summary>
    /// The AppHost's <c>mcpserver</c>, resolved by service discovery in the HttpClient; set an address to use another
    /// server. (The MCP transport accepts only http and https addresses, so not the <c>https+http://</c> form.) Outside
    /// the AppHost, with no <c>services:mcpserver</c> address configured, the name does not resolve: set this then.
    /// </summary>
    public string Endpoint { get; set; } = "http://mcpserver/mcp";

    public string Token { get; set; } = "";
}

/// <summary>Opens a task's MCP session: the <c>X-Osiris-Task</c> header fixes the session to the task's workspace.</summary>
public sealed class McpToolbox(IOptions<McpOptions> options, IHttpClientFactory http, ILoggerFactory loggers)
{
    /// <summary>
    /// The MCP connection's HttpClient: service discovery resolves <c>mcpserver</c>; no resilience handler or timeout,
    /// since a <c>run_command</c> call streams for up to its own limit, and a failed call must never be sent twice.
    /// </summary>
    public const string HttpClientName = "mcp";

    public async Task<TaskTools> ConnectAsync(Guid taskId, CancellationToken ct)
    {
        var session = new TaskTools(this, taskId, loggers.CreateLogger<TaskTools>());
        await session.OpenAsync(ct);
        return session;
    }

    internal async Task<(McpClient Client, IList<McpClientTool> Tools)> OpenAsync(Guid taskId, CancellationToken ct)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(options.Value.Endpoint),
            TransportMode = HttpTransportMode.StreamableHttp,
            Name = $"osiris-task-{taskId}",
            AdditionalHeaders = new Dictionary<string, string>
            {
                ["X-Osiris-Task"] = taskId.ToString(),
                ["Authorization"] = $"Bearer {options.Value.Token}",
            },
        }, http.CreateClient(HttpClientName), loggers, ownsHttpClient: true);
        var client = await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new() { Name = "osiris-agent", Version = "1.0" },
        }, loggers, ct);
        var tools = await client.ListToolsAsync(cancellationToken: ct);
        return (client, tools);
    }
}

/// <summary>
/// A task's MCP session that outlives the server's: when a call finds the session gone (the server restarted, or
/// the session expired during a long approval wait), it opens a new one and makes the call there, once. A call
/// that reached the server and failed there is never repeated.
/// </summary>
public sealed class TaskTools(McpToolbox toolbox, Guid taskId, ILogger logger) : IAsyncDisposable
{
    private McpClient? _client;

    public IList<McpClientTool> Tools { get; private set; } = [];

    internal async Task OpenAsync(CancellationToken ct)
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
        (_client, Tools) = await toolbox.OpenAsync(taskId, ct);
    }

    /// <summary>A restarting server needs a few seconds before it answers again.</summary>
    private async Task ReopenAsync(CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await OpenAsync(ct);
                return;
            }
            catch (Exception ex) when (attempt < 15 && ex is HttpRequestException or IOException or McpException && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 3)), ct);
            }
        }
    }

    /// <param name="meta">The request's <c>_meta</c> (the step and call id a checkpoint is tied to); null for none.</param>
    public async Task<CallToolResult> CallAsync(string name, IReadOnlyDictionary<string, object?> arguments, IProgress<ProgressNotificationValue> progress,
        CancellationToken ct, System.Text.Json.Nodes.JsonObject? meta = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var tool = Tools.FirstOrDefault(t => t.Name == name)
                ?? throw new McpException($"The MCP server offers no tool named '{name}'. Tools: {string.Join(", ", Tools.Select(t => t.Name))}.");
            try
            {
                return await tool.CallAsync(arguments, progress, meta is null ? null : new RequestOptions { Meta = (System.Text.Json.Nodes.JsonObject)meta.DeepClone() },
                    cancellationToken: ct);
            }
            catch (Exception ex) when (attempt == 1 && SessionLost(ex) && !ct.IsCancellationRequested)
            {
                logger.LogWarning("Task {TaskId}: the MCP session was lost ({Error}); opening a new one", taskId, ex.Message);
                await ReopenAsync(ct);
            }
        }
    }

    /// <summary>The transport's view of a lost session: a 404 for the session id, a closed transport, a dropped connection.</summary>
    private static bool SessionLost(Exception ex) => ex switch
    {
        McpProtocolException => false,
        HttpRequestException { StatusCode: System.Net.HttpStatusCode.NotFound or null } => true,
        IOException or ObjectDisposedException => true,
        McpException { InnerException: { } inner } => SessionLost(inner),
        McpException m => m.Message.Contains("session", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
    }
}
