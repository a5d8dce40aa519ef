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
/// A task's MCP connection that outlives a server: when a call cannot reach the server (it is restarting, or another
/// replica's session is unknown: 404), it connects again (waiting up to about 40 s) and makes the call there, once.
/// A call that reached the server is never sent again, even if the connection broke while it ran: whether a command
/// ran, half ran or not at all is then unknown, so the model is told, not the command repeated.
/// </summary>
public sealed class TaskTools(McpToolbox toolbox, Guid taskId, ILogger logger) : IAsyncDisposable
{
    private McpClient? _client;
    private bool _broken;

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
        if (_broken)
        {
            // The previous call lost its connection while it ran: this one starts on a fresh connection.
            await ReopenAsync(ct);
            _broken = false;
        }
        for (var attempt = 1; ; attempt++)
        {
            var tool = Tools.FirstOrDefault(t => t.Name == name)
                ?? throw new McpException($"The MCP server offers no tool named '{name}'. Tools: {string.Join(", ", Tools.Select(t => t.Name))}.");
            try
            {
                return await tool.CallAsync(arguments, progress, meta is null ? null : new RequestOptions { Meta = (System.Text.Json.Nodes.JsonObject)meta.DeepClone() },
                    cancellationToken: ct);
            }
            catch (Exception ex) when (attempt == 1 && NeverReached(ex) && !ct.IsCancellationRequested)
            {
                logger.LogWarning("Task {TaskId}: the MCP server did not take the call ({Error}); connecting again", taskId, ex.Message);
                await ReopenAsync(ct);
            }
            catch (Exception ex) when (ex is not (McpProtocolException or OperationCanceledException))
            {
                _broken = true;
                throw;
            }
        }
    }

    /// <summary>
    /// The call did not reach a server that could run it: no connection could be made, the session is unknown there
    /// (404), or the client had closed this connection before (a previous call found it broken).
    /// </summary>
    internal static bool NeverReached(Exception ex) => ex switch
    {
        McpProtocolException => false,
        HttpRequestException { StatusCode: System.Net.HttpStatusCode.NotFound } => true,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError, StatusCode: null } => true,
        ObjectDisposedException => true,
        McpException { InnerException: { } inner } => NeverReached(inner),
        McpException m => m.Message.Contains("session", StringComparison.OrdinalIgnoreCase) && m.Message.Contains("not found", StringComparison.OrdinalIgnoreCase),
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
