using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Audit;
using Osiris.Api.Brains;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

/// <summary>A person steering a running task: its brain, and approvals of tool calls.</summary>
public static class TaskControlApi
{
    public static RouteGroupBuilder MapTaskControlApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").RequireRole(Policies.Operator).ValidateRequests().WithTags("Tasks");
        group.MapPut("/{id:guid}/brain", SwitchBrain);
        group.MapPost("/{id:guid}/approvals/{approvalId:guid}", Decide);
        group.MapPost("/{id:guid}/resume", Resume);
        return group;
    }

    /// <summary>Takes effect at the task's next model turn; the agent reads the task's brain before every call.</summary>
    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> SwitchBrain(Guid id, BrainChoice choice,
        HttpContext http, OsirisDbContext db, EventPublisher publisher, IOptions<BrainSettings> settings, TimeProvider time, CancellationToken ct)
    {
        if (BrainsApi.NotConfigured(choice, settings.Value) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TaskProblems.NotFound(id);
        }
        if (!TaskStatuses.IsOpen(task.Status))
        {
            return TaskProblems.Closed(task);
        }
        task.Brain = choice.Brain;
        task.Model = string.IsNullOrWhiteSpace(choice.Model) ? settings.Value.For(choice.Brain).Model : choice.Model;
        task.UpdatedAt = time.UtcNow();
        AuditLog.Add(db, time, http, AuditActions.TaskBrain, $"task:{id}", new { task.Brain, task.Model });
        await publisher.PublishAsync(db, EventTypes.TaskUpdate, task.Id, task.ToUpdate(), ct);
        return TypedResults.Ok(task.ToDto());
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> Decide(Guid id, Guid approvalId, ApprovalDecision decision,
        HttpContext http, OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var approval = await db.Approvals.SingleOrDefaultAsync(a => a.Id == approvalId && a.TaskId == id, ct);
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (approval is null || task is null)
        {
            return TaskProblems.ApprovalNotFound(id, approvalId);
        }
        if (approval.Status != ApprovalStatuses.Pending)
        {
            return TaskProblems.AlreadyDecided(approvalId, approval.Status);
        }
        // Only the first decision counts, even when two people click at once.
        await using var append = await publisher.BeginAsync(db, ct);
        var now = time.UtcNow();
        var status = decision.Approve ? ApprovalStatuses.Approved : ApprovalStatuses.Denied;
        var actor = AuditLog.Actor(http);
        var decided = await db.Approvals.Where(a => a.Id == approvalId && a.Status == ApprovalStatuses.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, status).SetProperty(a => a.DecidedAt, now).SetProperty(a => a.DecidedBy, actor), ct);
        if (decided == 0)
        {
            return TaskProblems.AlreadyDecided(approvalId);
        }
        await db.Tasks.Where(t => t.Id == id && t.Status == TaskStatuses.AwaitingApproval)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Running).SetProperty(t => t.UpdatedAt, now), ct);
        await db.Entry(task).ReloadAsync(ct);
        AuditLog.Add(db, time, http, decision.Approve ? AuditActions.ApprovalApprove : AuditActions.ApprovalDeny, $"task:{id}",
            new { approvalId, approval.Tool });
        // The timeline says who decided ("Approved by ana"), at the note's time; the agent never reads system notes.
        var note = TaskIntake.SystemNote(db, task.Id, now, $"{(decision.Approve ? "Approved" : "Denied")} by {actor}: {approval.Tool}.");
        append.Add(EventTypes.TaskUpdate, task.Id, task.ToUpdate());
        append.Add(EventTypes.NewMessage, task.Id, TaskIntake.MessagePayload(note));
        await append.CommitAsync(ct);
        return TypedResults.Ok(task.ToDto());
    }

    /// <summary>
    /// Continues a paused task: one whose budget ran out (raise it by <c>raiseBudgetUsd</c> and/or <c>raiseTokens</c>),
    /// or one that waited for a model. The task is queued again; an agent takes it up at once.
    /// </summary>
    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> Resume(Guid id, ResumeRequest request,
        HttpContext http, OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TaskProblems.NotFound(id);
        }
        if (task.Status != TaskStatuses.Paused)
        {
            return TaskProblems.NotPaused(task);
        }
        if (task.PausedFor == PauseReasons.Budget && (request.RaiseBudgetUsd ?? 0) <= 0 && (request.RaiseTokens ?? 0) <= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["raiseBudgetUsd"] = [$"Task {id} is paused because its budget is used up ({task.Result}). Raise it: raiseBudgetUsd and/or raiseTokens above 0."],
            });
        }

        await using var append = await publisher.BeginAsync(db, ct);
        var now = time.UtcNow();
        var budgetUsd = (task.BudgetUsd ?? 0) + (request.RaiseBudgetUsd ?? 0);
        var budgetTokens = (task.BudgetTokens ?? 0) + (request.RaiseTokens ?? 0);
        var raiseUsd = request.RaiseBudgetUsd is > 0;
        var raiseTokens = request.RaiseTokens is > 0;
        // Conditional: a cancel that came first wins.
        var resumed = await db.Tasks.Where(t => t.Id == id && t.Status == TaskStatuses.Paused)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, TaskStatuses.Queued)
                .SetProperty(t => t.PausedFor, (string?)null)
                .SetProperty(t => t.Result, (string?)null)
                .SetProperty(t => t.BudgetUsd, t => raiseUsd ? (decimal?)budgetUsd : t.BudgetUsd)
                .SetProperty(t => t.BudgetTokens, t => raiseTokens ? (long?)budgetTokens : t.BudgetTokens)
                .SetProperty(t => t.UpdatedAt, now), ct);
        if (resumed == 0)
        {
            await db.Entry(task).ReloadAsync(ct);
            return TaskProblems.NotPaused(task);
        }
        await db.Entry(task).ReloadAsync(ct);
        AuditLog.Add(db, time, http, AuditActions.TaskResume, $"task:{id}", new { request.RaiseBudgetUsd, request.RaiseTokens });
        append.Add(EventTypes.TaskUpdate, task.Id, task.ToUpdate());
        append.Add(EventTypes.SystemNotification, task.Id, new SystemNotificationPayload(NotificationLevels.Info,
            raiseUsd || raiseTokens
                ? $"Task {task.Id} resumed with its budget raised to ${task.BudgetUsd:0.##} and {task.BudgetTokens:N0} tokens."
                : $"Task {task.Id} resumed."));
        await append.CommitAsync(ct);
        return TypedResults.Ok(task.ToDto());
    }
}
