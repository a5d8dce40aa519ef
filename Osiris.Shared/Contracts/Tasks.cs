using Osiris.Shared.Storage;

namespace Osiris.Shared.Contracts;

public static class TaskStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string AwaitingApproval = "awaiting_approval";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static readonly string[] All = [Queued, Running, AwaitingApproval, Completed, Failed, Cancelled];

    /// <summary>"Open" tasks can still change: queued, running or awaiting approval.</summary>
    public static readonly string[] Open = [Queued, Running, AwaitingApproval];

    public static bool IsOpen(string status) => Open.Contains(status);
}

public static class TaskSources
{
    public const string Api = "api";
    public const string Ui = "ui";
    public const string WhatsApp = "whatsapp";
    public const string Email = "email";
}

public static class Brains
{
    public const string OpenAI = "openai";
    public const string Gemini = "gemini";
    public const string OpenAICompatible = "openai-compatible";
    public const string Offline = "offline";

    public static readonly string[] All = [OpenAI, Gemini, OpenAICompatible, Offline];
}

/// <summary>A task as the API returns it and as <c>task_created</c> carries it (CONTRACTS.md).</summary>
public sealed record TaskDto(
    Guid Id,
    string Title,
    string Description,
    string Source,
    string? ExternalId,
    string Status,
    string? Brain,
    string? Model,
    bool RequireApproval,
    long Tokens,
    decimal CostUsd,
    string? Result,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static TaskDto From(TaskRecord task) => new(
        task.Id, task.Title, task.Description, task.Source, task.ExternalId, task.Status,
        task.Brain, task.Model, task.RequireApproval, task.Tokens, task.CostUsd, task.Result,
        task.CreatedAt, task.UpdatedAt);
}

public sealed record TaskPage(IReadOnlyList<TaskDto> Items, int Total, int Page, int PageSize);
