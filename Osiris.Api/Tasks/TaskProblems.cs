using Microsoft.AspNetCore.Http.HttpResults;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

/// <summary>The problem results every task route answers with, worded once.</summary>
public static class TaskProblems
{
    public static ProblemHttpResult NotFound(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Task not found", detail: $"There is no task {id}.");

    /// <summary>The task has ended (completed, failed or cancelled); only an open task accepts this.</summary>
    public static ProblemHttpResult Closed(TaskRecord task) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is closed",
            detail: $"Task {task.Id} is {task.Status}; only an open task ({string.Join(", ", TaskStatuses.Open)}) accepts this.");

    public static ProblemHttpResult NotPaused(TaskRecord task) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is not paused",
            detail: $"Task {task.Id} is {task.Status}; only a paused task can be resumed.");

    public static ProblemHttpResult ApprovalNotFound(Guid id, Guid approvalId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Approval not found",
            detail: $"Task {id} has no approval {approvalId}.");

    /// <summary>Only the first decision counts.</summary>
    public static ProblemHttpResult AlreadyDecided(Guid approvalId, string? status = null) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already decided",
            detail: $"Approval {approvalId} was already {status ?? "decided"}.");
}
