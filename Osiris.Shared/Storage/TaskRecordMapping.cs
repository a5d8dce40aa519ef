using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;

namespace Osiris.Shared.Storage;

/// <summary>The one way a stored task becomes what the API returns and what <c>task_update</c> carries.</summary>
public static class TaskRecordMapping
{
    public static TaskDto ToDto(this TaskRecord task) => new(
        task.Id, task.Title, task.Description, task.Source, task.ExternalId, task.Status,
        task.Brain, task.Model, task.RequireApproval, task.Tokens, task.CostUsd, task.Result,
        task.CreatedAt, task.UpdatedAt, task.BudgetUsd, task.UnpricedTokens, task.PausedFor, task.BudgetTokens,
        task.EffectiveToolMode, task.ReplyMode, task.SenderLevel, task.ReplyAddress, task.Sender,
        KnowledgeScopes.Parse(task.KnowledgeCollections),
        task.OriginKind is { } kind && task.OriginTaskId is { } from ? new TaskOrigin(kind, from, task.OriginCheckpointId) : null,
        Replay(task));

    /// <summary>
    /// The result travels once the task ends or pauses; <paramref name="approval"/> while it awaits one;
    /// <paramref name="reply"/> while its answer to a channel sender waits for review.
    /// </summary>
    public static TaskUpdatePayload ToUpdate(this TaskRecord task, ApprovalRequest? approval = null, PendingReply? reply = null) =>
        new(task.Status, task.Step, task.Tokens, task.CostUsd, task.Brain, task.Model, approval,
            task.Status is TaskStatuses.Completed or TaskStatuses.Failed or TaskStatuses.Paused ? task.Result : null,
            task.Status == TaskStatuses.Paused ? task.PausedFor : null, task.BudgetUsd, task.UnpricedTokens, reply, Replay(task));

    private static ReplayReport? Replay(TaskRecord task) =>
        task.ReplayReport is { } report ? System.Text.Json.JsonSerializer.Deserialize<ReplayReport>(report, OsirisJson.Options) : null;
}
