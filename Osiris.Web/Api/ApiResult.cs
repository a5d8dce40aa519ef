using System.Net.Http.Json;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Api;

/// <summary>What a command sent to the API came to: success, or a message a person can read.</summary>
public record ApiResult(bool Ok, string? Error)
{
    public static ApiResult Failed(string error) => new(false, error);

    public static async Task<ApiResult> ReadAsync(HttpResponseMessage response, CancellationToken ct) =>
        response.IsSuccessStatusCode ? new(true, null) : Failed(await ProblemTextAsync(response, ct));

    /// <summary>The problem details' title and detail (and validation errors), else the status.</summary>
    public static async Task<string> ProblemTextAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if ((int)response.StatusCode == 404 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return "The API does not offer this yet.";
        }
        try
        {
            using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            var root = problem.RootElement;
            var parts = new List<string>();
            foreach (var name in new[] { "title", "detail" })
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    parts.Add(value.GetString()!);
                }
            }
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                parts.AddRange(errors.EnumerateObject().SelectMany(e => e.Value.EnumerateArray()).Select(v => v.GetString() ?? ""));
            }
            return parts.Count > 0 ? string.Join(" ", parts) : $"The API answered {(int)response.StatusCode}.";
        }
        catch (JsonException)
        {
            return $"The API answered {(int)response.StatusCode} {response.ReasonPhrase}.";
        }
    }
}

public sealed record ApiResult<T>(bool Ok, string? Error, T? Value) : ApiResult(Ok, Error)
{
    public static new async Task<ApiResult<T>> ReadAsync(HttpResponseMessage response, CancellationToken ct) =>
        response.IsSuccessStatusCode
            ? new(true, null, await response.Content.ReadFromJsonAsync<T>(OsirisJson.Options, ct))
            : new(false, await ProblemTextAsync(response, ct), default);

    public static new ApiResult<T> Failed(string error) => new(false, error, default);
}

/// <summary>The new-task form's fields.</summary>
public sealed class NewTaskForm
{
    [System.ComponentModel.DataAnnotations.Required, System.ComponentModel.DataAnnotations.MaxLength(200)]
    public string Title { get; set; } = "";

    [System.ComponentModel.DataAnnotations.Required]
    public string Description { get; set; } = "";

    public string? Brain { get; set; }
    public string? Model { get; set; }

    /// <summary>One per form: every send of this form is the same create, so a retry never makes a second task.</summary>
    public string IdempotencyKey { get; } = Guid.NewGuid().ToString("N");
    public bool RequireApproval { get; set; }

    /// <summary>The knowledge collections the agent may search; null: all of them.</summary>
    public List<string>? KnowledgeCollections { get; set; }
}
