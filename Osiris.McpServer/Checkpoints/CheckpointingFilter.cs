using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.Shared.Contracts;

namespace Osiris.McpServer.Checkpoints;

/// <summary>
/// Around every tool call of a task's session: marks the workspace busy (a restore waits, or is refused while a call
/// runs), takes the task's start checkpoint before its first change, and a checkpoint after every <c>write_file</c>
/// and every <c>run_command</c> that changed files. The checkpoint is tied to the call by the request's <c>_meta</c>
/// (<c>osiris/step</c>, <c>osiris/callId</c>) and reported in the result's <c>_meta</c> (<c>osiris/checkpoint</c>).
/// </summary>
public sealed class CheckpointingFilter(CheckpointStore store, WorkspaceActivity activity, ILogger<CheckpointingFilter> logger)
{
    public async ValueTask<CallToolResult> CallAsync(Guid taskId, RequestContext<CallToolRequestParams> request,
        McpRequestHandler<CallToolRequestParams, CallToolResult> next, CancellationToken ct)
    {
        using var busy = await activity.BeginToolAsync(taskId, ct);
        var name = request.Params?.Name;
        var changes = name == "run_command" || name == "write_file" && !IsDryRun(request.Params);
        if (!changes || !store.Enabled)
        {
            return await next(request, ct);
        }
        var (step, callId) = ReadMeta(request.Params?.Meta);
        try
        {
            await store.EnsureStartAsync(taskId, step, callId, ct);
        }
        catch (Exception e) when (e is SnapshotRefusedException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Task {TaskId}: no start checkpoint: {Reason}", taskId, e.Message);
        }

        var result = await next(request, ct);
        if (name == "write_file" && result.IsError == true)
        {
            return result; // refused: nothing was written
        }
        try
        {
            if (await store.TakeAsync(taskId, name, step, callId, ct: ct) is { } checkpoint)
            {
                (result.Meta ??= [])[CheckpointMeta.Checkpoint] = new JsonObject
                {
                    ["id"] = checkpoint.Id, ["files"] = checkpoint.Files, ["changed"] = checkpoint.Changed,
                };
            }
        }
        catch (Exception e) when (e is SnapshotRefusedException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Task {TaskId}: no checkpoint after {Tool}: {Reason}", taskId, name, e.Message);
            (result.Meta ??= [])[CheckpointMeta.Checkpoint] = new JsonObject { ["error"] = e.Message };
        }
        return result;
    }

    private static bool IsDryRun(CallToolRequestParams? parameters) =>
        parameters?.Arguments is { } arguments && arguments.TryGetValue("dryRun", out var dry) && dry.ValueKind == JsonValueKind.True;

    private static (int? Step, string? CallId) ReadMeta(JsonObject? meta)
    {
        int? step = meta?[CheckpointMeta.Step] is JsonValue s && s.TryGetValue<int>(out var n) && n >= 0 ? n : null;
        string? callId = meta?[CheckpointMeta.CallId] is JsonValue c && c.TryGetValue<string>(out var id) && id.Length is > 0 and <= 200 ? id : null;
        return (step, callId);
    }
}
