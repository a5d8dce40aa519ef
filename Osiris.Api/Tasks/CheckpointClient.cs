using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Tasks;

/// <summary>
/// The MCP server's checkpoint endpoints (<c>/checkpoints/{taskId}/…</c>), called with the MCP token. Checkpoints live
/// with the workspaces; the API decides who may see and change them.
/// </summary>
public sealed class CheckpointClient(HttpClient http, IConfiguration configuration)
{
    /// <summary>The AppHost's <c>mcpserver</c> through service discovery; <c>Osiris:Mcp:Endpoint</c> names another.</summary>
    public const string DefaultEndpoint = "http://mcpserver";

    /// <summary>What the MCP server answered: the value, or its status and problem detail.</summary>
    public sealed record Answer<T>(T? Value, HttpStatusCode Status, string? Detail)
    {
        public bool Ok => Value is not null;
    }

    public Task<Answer<CheckpointList>> ListAsync(Guid taskId, CancellationToken ct) =>
        SendAsync<CheckpointList>(HttpMethod.Get, taskId, "", ct);

    public Task<Answer<CheckpointDiff>> DiffAsync(Guid taskId, string id, string? to, CancellationToken ct) =>
        SendAsync<CheckpointDiff>(HttpMethod.Get, taskId, $"{Uri.EscapeDataString(id)}/diff{(to is null ? "" : "?to=" + Uri.EscapeDataString(to))}", ct);

    public Task<Answer<RestoreResult>> RestoreAsync(Guid taskId, string id, string actor, CancellationToken ct) =>
        SendAsync<RestoreResult>(HttpMethod.Post, taskId, $"{Uri.EscapeDataString(id)}/restore?actor={Uri.EscapeDataString(actor)}", ct);

    public Task<Answer<CheckpointDto>> ForkAsync(Guid taskId, string id, Guid newTaskId, CancellationToken ct) =>
        SendAsync<CheckpointDto>(HttpMethod.Post, taskId, $"{Uri.EscapeDataString(id)}/fork/{newTaskId}", ct);

    private async Task<Answer<T>> SendAsync<T>(HttpMethod method, Guid taskId, string rest, CancellationToken ct) where T : class
    {
        using var request = new HttpRequestMessage(method, $"/checkpoints/{taskId}/{rest}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", configuration["Osiris:McpToken"] ?? "");
        request.Headers.Add("X-Osiris-Task", taskId.ToString());
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (response.IsSuccessStatusCode)
            {
                return new((await response.Content.ReadFromJsonAsync<T>(OsirisJson.Options, ct))!, response.StatusCode, null);
            }
            var problem = response.Content.Headers.ContentType?.MediaType?.Contains("json") == true
                ? await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>(ct)
                : null;
            return new(null, response.StatusCode, problem?.Detail ?? $"The MCP server answered {(int)response.StatusCode}.");
        }
        catch (HttpRequestException e)
        {
            return new(null, HttpStatusCode.ServiceUnavailable, $"The MCP server, which keeps the workspaces, cannot be reached ({e.Message}).");
        }
    }

    public static void Configure(HttpClient http, IConfiguration configuration)
    {
        http.BaseAddress = new Uri(configuration["Osiris:Mcp:Endpoint"] is { Length: > 0 } endpoint ? endpoint : DefaultEndpoint);
        http.Timeout = TimeSpan.FromMinutes(5); // a restore of a large workspace copies every file
    }
}
