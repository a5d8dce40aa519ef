using Microsoft.AspNetCore.Http.HttpResults;
using Osiris.Shared.Contracts;

namespace Osiris.McpServer.Checkpoints;

/// <summary>
/// How the API reaches checkpoints (the agent never does): <c>/checkpoints/{taskId}/…</c>, behind the same gate as
/// <c>/mcp</c> (local callers unless allowed, Host and Origin checks, the bearer token). The API checks who may do what.
/// </summary>
public static class CheckpointEndpoints
{
    public static IEndpointRouteBuilder MapCheckpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/checkpoints/{taskId:guid}");
        group.MapGet("/", List);
        group.MapGet("/{id}/diff", Diff);
        group.MapPost("/{id}/restore", Restore);
        group.MapPost("/{id}/fork/{newTaskId:guid}", Fork);
        return app;
    }

    private static Results<Ok<CheckpointList>, ProblemHttpResult> List(Guid taskId, CheckpointStore store) =>
        !store.Enabled ? Disabled() : TypedResults.Ok(new CheckpointList([.. store.List(taskId).Select(c => c.ToDto())]));

    private static Results<Ok<CheckpointDiff>, ProblemHttpResult> Diff(Guid taskId, string id, string? to, CheckpointStore store)
    {
        if (!store.Enabled)
        {
            return Disabled();
        }
        var all = store.List(taskId);
        var from = all.FirstOrDefault(c => c.Id == id);
        var until = to is null ? all.LastOrDefault() : all.FirstOrDefault(c => c.Id == to);
        if (from is null || until is null)
        {
            return NotFound(taskId, from is null ? id : to!);
        }
        return TypedResults.Ok(store.Diff(from, until));
    }

    private static async Task<Results<Ok<RestoreResult>, ProblemHttpResult>> Restore(Guid taskId, string id, string? actor, CheckpointStore store,
        WorkspaceActivity activity, CancellationToken ct)
    {
        if (!store.Enabled)
        {
            return Disabled();
        }
        if (store.Find(taskId, id) is not { } target)
        {
            return NotFound(taskId, id);
        }
        using var hold = activity.TryBeginRestore(taskId);
        if (hold is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "A tool is running",
                detail: $"A tool call of task {taskId} is running in its workspace; restore when it has finished.");
        }
        var recorded = await store.RestoreAsync(taskId, target, string.IsNullOrWhiteSpace(actor) ? "someone" : actor, ct);
        return TypedResults.Ok(new RestoreResult(target.ToDto(), recorded.ToDto()));
    }

    private static async Task<Results<Ok<CheckpointDto>, ProblemHttpResult>> Fork(Guid taskId, string id, Guid newTaskId, CheckpointStore store,
        CancellationToken ct)
    {
        if (!store.Enabled)
        {
            return Disabled();
        }
        if (store.Find(taskId, id) is not { } source)
        {
            return NotFound(taskId, id);
        }
        if (store.List(newTaskId).Count > 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already forked", detail: $"Task {newTaskId} has a workspace already.");
        }
        return TypedResults.Ok((await store.ForkAsync(taskId, source, newTaskId, ct)).ToDto());
    }

    private static ProblemHttpResult NotFound(Guid taskId, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such checkpoint", detail: $"Task {taskId} has no checkpoint '{id}'.");

    private static ProblemHttpResult Disabled() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Checkpoints are off",
            detail: "This MCP server keeps no checkpoints (Checkpoints:Enabled is false, or it serves one fixed --root folder).");
}
