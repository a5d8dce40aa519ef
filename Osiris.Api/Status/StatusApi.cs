using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Osiris.Api.Security;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Status;

/// <summary>
/// <c>GET /api/v1/status</c>: what people should know about the services behind the API — today, the MCP server's
/// sandbox (read from its <c>/health/sandbox</c>), so the web can show "sandbox unavailable" with the fix.
/// </summary>
public static class StatusApi
{
    /// <summary>The MCP server, found by service discovery (the AppHost references it from the API).</summary>
    public const string McpClientName = "mcpserver-health";

    public static RouteGroupBuilder MapStatusApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").RequireRole(Policies.Viewer).WithTags("Status");
        group.MapGet("/status", GetStatus);
        return group;
    }

    public static async Task<Ok<SystemStatus>> GetStatus(IHttpClientFactory http, ILoggerFactory loggers, CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var health = await http.CreateClient(McpClientName).GetFromJsonAsync<JsonElement>("/health/sandbox", timeout.Token);
            return TypedResults.Ok(new SystemStatus(new ComponentStatus(
                health.GetProperty("status").GetString() ?? "Unknown", health.GetProperty("description").GetString() ?? "")));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            loggers.CreateLogger("Osiris.Status").LogWarning("The MCP server's sandbox status could not be read: {Error}", e.Message);
            return TypedResults.Ok(new SystemStatus(new ComponentStatus("Unknown", "The MCP server did not answer.")));
        }
    }
}
