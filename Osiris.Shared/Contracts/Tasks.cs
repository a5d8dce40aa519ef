namespace Osiris.Shared.Contracts;

public static class TaskStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string AwaitingApproval = "awaiting_approval";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Open but not worked on until a person acts: its budget ran out, or no model is configured for it.</summary>
    public const string Paused = "paused";

    public static readonly string[] All = [Queued, Running, AwaitingApproval, Paused, Completed, Failed, Cancelled];

    /// <summary>"Open" tasks can still change: queued, running, awaiting approval or paused.</summary>
    public static readonly string[] Open = [Queued, Running, AwaitingApproval, Paused];

    public static bool IsOpen(string status) => Open.Contains(status);
}

public static class TaskSources
{
    public const string Api = "api";
    public const string Ui = "ui";
    public const string WhatsApp = "whatsapp";
    public const string Email = "email";
}

/// <summary>Why a task is <see cref="TaskStatuses.Paused"/>.</summary>
public static class PauseReasons
{
    /// <summary>Its cost budget is used up; <c>POST /api/v1/tasks/{id}/resume</c> with <c>raiseBudgetUsd</c> continues it.</summary>
    public const string Budget = "budget";

    /// <summary>A task from WhatsApp or e-mail and no real model configured; it continues when an agent with a model starts.</summary>
    public const string NoModel = "no_model";
}

/// <summary>A task as the API returns it and as <c>task_created</c> carries it (docs/tasks-api.md).</summary>
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
    DateTimeOffset UpdatedAt,
    decimal? BudgetUsd = null,
    long UnpricedTokens = 0,
    string? PausedFor = null,
    long? BudgetTokens = null,
    string? ToolMode = null,
    string? ReplyMode = null,
    string? SenderLevel = null,
    string? SenderAddress = null,
    string? SenderName = null,
    IReadOnlyList<string>? KnowledgeCollections = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] TaskOrigin? Origin = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] ReplayReport? Replay = null);

/// <summary><c>POST /api/v1/tasks/{id}/approvals/{approvalId}</c>.</summary>
public sealed record ApprovalDecision(bool Approve);

/// <summary><c>POST /api/v1/tasks/{id}/resume</c>: continue a paused task, raising its cost budget by this much.</summary>
public sealed record ResumeRequest(decimal? RaiseBudgetUsd, long? RaiseTokens = null) : IValidatable
{
    public Dictionary<string, string[]> Validate() =>
        RaiseBudgetUsd is < 0 or > 10_000 || RaiseTokens is < 0 or > 100_000_000
            ? new() { ["raiseBudgetUsd"] = ["raiseBudgetUsd is 0 to 10,000 US dollars; raiseTokens is 0 to 100,000,000."] }
            : [];
}

/// <summary>One bar of <c>GET /api/v1/spend</c>: what model calls cost on a day, for a channel.</summary>
public sealed record SpendEntry(DateOnly Day, string Source, decimal CostUsd, long Tokens, long UnpricedTokens, int Calls);

/// <summary><c>GET /api/v1/spend</c>: spend per day and channel, and the tasks that cost most.</summary>
public sealed record SpendReport(IReadOnlyList<SpendEntry> Days, IReadOnlyList<TaskSpend> TopTasks, decimal TotalUsd);

public sealed record TaskSpend(Guid TaskId, string Title, string Source, decimal CostUsd, long Tokens, long UnpricedTokens);

public sealed record TaskPage(IReadOnlyList<TaskDto> Items, int Total, int Page, int PageSize);
