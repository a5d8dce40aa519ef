using Microsoft.AspNetCore.Mvc;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Tasks;

/// <param name="KnowledgeCollections">The collections the task's agent may search (names); null: every collection.</param>
public sealed record CreateTaskRequest(string? Title, string? Description, string? Brain, string? Model, bool? RequireApproval, string? Source,
    IReadOnlyList<string>? KnowledgeCollections = null)
    : IValidatable
{
    public const int MaxTitleLength = 200;

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(Title))
        {
            errors["title"] = ["A title is required."];
        }
        else if (Title.Length > MaxTitleLength)
        {
            errors["title"] = [$"The title has {Title.Length} characters; at most {MaxTitleLength} are allowed."];
        }
        if (Description is null)
        {
            errors["description"] = ["A description is required (it may be empty)."];
        }
        if (Brain is not null && !BrainNames.All.Contains(Brain))
        {
            errors["brain"] = [$"Unknown brain '{Brain}'. Allowed: {string.Join(", ", BrainNames.All)}."];
        }
        if (Model is not null && (Model.Length is 0 or > BrainChoice.MaxModelLength))
        {
            errors["model"] = [$"The model name must have 1 to {BrainChoice.MaxModelLength} characters."];
        }
        if (Source is not null && Source is not (TaskSources.Api or TaskSources.Ui))
        {
            errors["source"] = [$"Source must be '{TaskSources.Api}' or '{TaskSources.Ui}'; other channels have their own webhooks."];
        }
        if (KnowledgeCollections is { } names && (names.Count > 50 || names.Any(n => !CollectionNames.IsValid(n))))
        {
            errors["knowledgeCollections"] = ["knowledgeCollections holds at most 50 collection names."];
        }
        return errors;
    }
}

public sealed record PostMessageRequest(string? Text) : IValidatable
{
    public const int MaxLength = 20_000;

    public Dictionary<string, string[]> Validate() =>
        string.IsNullOrWhiteSpace(Text) ? new() { ["text"] = ["The message text is required."] }
        : Text.Length > MaxLength ? new() { ["text"] = [$"The message has {Text.Length} characters; at most {MaxLength} are allowed."] }
        : [];
}

/// <summary>The query of <c>GET /api/v1/tasks</c>: <c>status</c> (comma-separated), <c>page</c>, <c>pageSize</c>.</summary>
public sealed record TaskListQuery(
    [FromQuery(Name = "status")] string? Status,
    [FromQuery(Name = "page")] int? Page,
    [FromQuery(Name = "pageSize")] int? PageSize) : IValidatable
{
    public const int MaxPageSize = 200;

    public string[] Statuses { get; } = Status?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        var unknown = Statuses.Where(s => !TaskStatuses.All.Contains(s)).ToList();
        if (unknown.Count > 0)
        {
            errors["status"] = [$"Unknown status {string.Join(", ", unknown)}. Allowed: {string.Join(", ", TaskStatuses.All)}."];
        }
        if (Page is < 1 or > 1_000_000 || PageSize is < 1 or > MaxPageSize)
        {
            errors["page"] = [$"page is 1 to 1,000,000; pageSize is 1 to {MaxPageSize}."];
        }
        return errors;
    }
}
