using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Brains;
using Osiris.Api.Security;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

/// <summary>A person steering a running task: its brain, and approvals of tool calls.</summary>
public static class TaskControlApi
{
    public static RouteGroupBuilder MapTaskControlApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").RequireApiKey().WithTags("Tasks");
        group.MapPut("/{id:guid}/brain", SwitchBrain);
        group.MapPost("/{id:guid}/approvals/{approvalId:guid}", Decide);
        group.MapPost("/{id:guid}/resume", Resume);
        return group;
    }

    /// <summary>Takes effect at the task's next model turn; the agent reads the task's brain before every call.</summary>
    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> SwitchBrain(Guid id, BrainChoice choice,
        OsirisDbContext db, EventPublisher publisher, IOptions<BrainSettings> settings, TimeProvider time, CancellationToken ct)
    {
        if (BrainsApi.Validate(choice, settings.Value) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Task not found", detail: $"There is no task {id}.");
        }
        if (!TaskStatuses.IsOpen(task.Status))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is closed", detail: $"Task {id} is {task.Status}.");
        }
        task.Brain = choice.Brain;
        task.Model = string.IsNullOrWhiteSpace(choice.Model) ? settings.Value.For(choice.Brain).Model : choice.Model;
        task.UpdatedAt = time.UtcNow();
        await publisher.PublishAsync(db, EventTypes.TaskUpdate, task.Id,
            TaskUpdatePayload.From(task), ct);
        return TypedResults.Ok(TaskDto.From(task));
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> Decide(Guid id, Guid approvalId, ApprovalDecision decision,
        OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var approval = await db.Approvals.SingleOrDefaultAsync(a => a.Id == approvalId && a.TaskId == id, ct);
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (approval is null || task is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Approval not found",
                detail: $"Task {id} has no approval {approvalId}.");
        }
        if (approval.Status != "pending")
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already decided",
                detail: $"Approval {approvalId} was already {approval.Status}.");
        }
        // Only the first decision counts, even when two people click at once.
        await using var append = await publisher.BeginAsync(db, ct);
        var now = time.UtcNow();
        var status = decision.Approve ? "approved" : "denied";
        var decided = await db.Approvals.Where(a => a.Id == approvalId && a.Status == "pending")
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, status).SetProperty(a => a.DecidedAt, now), ct);
        if (decided == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already decided",
                detail: $"Approval {approvalId} was already decided.");
        }
        await db.Tasks.Where(t => t.Id == id && t.Status == TaskStatuses.AwaitingApproval)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Running).SetProperty(t => t.UpdatedAt, now), ct);
        await db.Entry(task).ReloadAsync(ct);
        append.Add(EventTypes.TaskUpdate, task.Id, TaskUpdatePayload.From(task));
        await append.CommitAsync(ct);
        return TypedResults.Ok(TaskDto.From(task));
    }

    /// <summary>
    /// Continues a paused task: one whose budget ran out (raise it by <c>raiseBudgetUsd</c> and/or <c>raiseTokens</c>),
    /// or one that waited for a model. The task is queued again; an agent takes it up at once.
    /// </summary>
    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> Resume(Guid id, ResumeRequest request,
        OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        if (request.RaiseBudgetUsd is < 0 or > 10_000 || request.RaiseTokens is < 0 or > 100_000_000)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["raiseBudgetUsd"] = ["raiseBudgetUsd is 0 to 10,000 US dollars; raiseTokens is 0 to 100,000,000."],
            });
        }
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Task not found", detail: $"There is no task {id}.");
        }
        if (task.Status != TaskStatuses.Paused)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is not paused",
                detail: $"Task {id} is {task.Status}; only a paused task can be resumed.");
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
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is not paused", detail: $"Task {id} is {task.Status}.");
        }
        await db.Entry(task).ReloadAsync(ct);
        append.Add(EventTypes.TaskUpdate, task.Id, TaskUpdatePayload.From(task));
        append.Add(EventTypes.SystemNotification, task.Id, new SystemNotificationPayload("info",
            raiseUsd || raiseTokens
                ? $"Task {task.Id} resumed with its budget raised to ${task.BudgetUsd:0.##} and {task.BudgetTokens:N0} tokens."
                : $"Task {task.Id} resumed."));
        await append.CommitAsync(ct);
        return TypedResults.Ok(TaskDto.From(task));
    }
}
