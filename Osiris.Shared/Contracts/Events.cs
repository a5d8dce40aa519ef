using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osiris.Shared.Contracts;

public static class EventTypes
{
    public const string TaskCreated = "task_created";
    public const string TaskUpdate = "task_update";
    public const string NewMessage = "new_message";
    public const string ArtifactStream = "artifact_stream";
    public const string TerminalLog = "terminal_log";
    public const string SystemNotification = "system_notification";

    public static readonly string[] All = [TaskCreated, TaskUpdate, NewMessage, ArtifactStream, TerminalLog, SystemNotification];
}

/// <summary>One event of the log, exactly as an SSE frame's <c>data:</c> carries it.</summary>
public sealed record OsirisEvent(
    long Id,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? TaskId,
    DateTimeOffset Timestamp,
    JsonElement Payload);

public sealed record TaskUpdatePayload(
    string Status,
    int Step,
    long Tokens,
    decimal CostUsd,
    string? Brain,
    string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ApprovalRequest? Approval = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Result = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PausedFor = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? BudgetUsd = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long UnpricedTokens = 0)
{
    /// <summary>The one way a task's state becomes a <c>task_update</c>: the result travels once the task ends or pauses.</summary>
    public static TaskUpdatePayload From(Storage.TaskRecord task, ApprovalRequest? approval = null) =>
        new(task.Status, task.Step, task.Tokens, task.CostUsd, task.Brain, task.Model, approval,
            task.Status is TaskStatuses.Completed or TaskStatuses.Failed or TaskStatuses.Paused ? task.Result : null,
            task.Status == TaskStatuses.Paused ? task.PausedFor : null, task.BudgetUsd, task.UnpricedTokens);
}

public sealed record NewMessagePayload(
    Guid MessageId,
    string Role,
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delta,
    bool Final,
    string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Retracted = false);

public sealed record SystemNotificationPayload(string Level, string Text);

public static class OsirisJson
{
    /// <summary>The one JSON shape of OSIRIS: camelCase, as ASP.NET Core's web defaults.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
