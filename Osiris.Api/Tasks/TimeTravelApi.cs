using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

/// <summary>
/// A task's past as something to act on (docs/tasks-api.md "Time travel"): its workspace checkpoints with diff, restore
/// and fork; a replay of a finished run; and its stored history, which outlives the event log.
/// </summary>
public static class TimeTravelApi
{
    public static RouteGroupBuilder MapTimeTravelApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks/{id:guid}").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Tasks");
        group.MapGet("/history", GetHistory);
        group.MapGet("/checkpoints", ListCheckpoints);
        group.MapGet("/checkpoints/{checkpointId}/diff", Diff);
        group.MapPost("/checkpoints/{checkpointId}/restore", Restore).RequireRole(Policies.Operator);
        group.MapPost("/checkpoints/{checkpointId}/fork", Fork).RequireRole(Policies.Operator);
        group.MapPost("/replay", Replay).RequireRole(Policies.Operator);
        return group;
    }

    /// <summary>The most messages one history answer carries (a task's whole conversation, in practice).</summary>
    public const int MaxHistoryMessages = 10_000;

    public static async Task<Results<Ok<TaskHistory>, ProblemHttpResult>> GetHistory(Guid id, OsirisDbContext db, CancellationToken ct)
    {
        if (!await db.Tasks.AnyAsync(t => t.Id == id, ct))
        {
            return TaskProblems.NotFound(id);
        }
        var messages = await db.Messages.AsNoTracking().Where(m => m.TaskId == id).OrderBy(m => m.CreatedAt).ThenBy(m => m.Id)
            .Take(MaxHistoryMessages).ToListAsync(ct);
        var artifacts = await db.Artifacts.AsNoTracking().Where(a => a.TaskId == id).OrderBy(a => a.Id).ToListAsync(ct);
        return TypedResults.Ok(new TaskHistory(
            [.. messages.Select(m => new StoredMessage(m.Id, m.Role, m.Kind, m.Text, m.Model, m.CreatedAt, ParseData(m.Data)))],
            [.. artifacts.Select(a => new StoredArtifact(a.Path, a.Version, a.Diff, a.Size, a.CreatedAt))]));
    }

    public static async Task<Results<Ok<CheckpointList>, ProblemHttpResult>> ListCheckpoints(Guid id, OsirisDbContext db, CheckpointClient checkpoints,
        CancellationToken ct)
    {
        if (!await db.Tasks.AnyAsync(t => t.Id == id, ct))
        {
            return TaskProblems.NotFound(id);
        }
        var answer = await checkpoints.ListAsync(id, ct);
        return answer.Ok ? TypedResults.Ok(answer.Value!) : Problem(answer);
    }

    public static async Task<Results<Ok<CheckpointDiff>, ProblemHttpResult>> Diff(Guid id, string checkpointId, string? to, OsirisDbContext db,
        CheckpointClient checkpoints, CancellationToken ct)
    {
        if (!await db.Tasks.AnyAsync(t => t.Id == id, ct))
        {
            return TaskProblems.NotFound(id);
        }
        var answer = await checkpoints.DiffAsync(id, checkpointId, to, ct);
        return answer.Ok ? TypedResults.Ok(answer.Value!) : Problem(answer);
    }

    /// <summary>
    /// Returns the workspace to a checkpoint (409 while a tool call runs in it). The conversation records who did it;
    /// an open task's agent reads that note at its next turn, so it does not trust what it remembers of the files.
    /// </summary>
    public static async Task<Results<Ok<RestoreResult>, ProblemHttpResult>> Restore(Guid id, string checkpointId, HttpContext http, OsirisDbContext db,
        EventPublisher publisher, CheckpointClient checkpoints, TimeProvider time, CancellationToken ct)
    {
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TaskProblems.NotFound(id);
        }
        var actor = AuditLog.Actor(http);
        var answer = await checkpoints.RestoreAsync(id, checkpointId, actor, ct);
        if (!answer.Ok)
        {
            return Problem(answer);
        }
        var restored = answer.Value!.RestoredTo;
        var now = time.UtcNow();
        var text = $"{actor} restored the workspace to checkpoint {restored.Id}" +
                   (restored.Tool is null ? $" ({restored.Note ?? "the start"})" : $" (step {restored.Step}, after {restored.Tool})") +
                   ". Every file is as it was at that point; changes made after it are gone from the workspace (the earlier checkpoints " +
                   "still hold them). Look at the workspace again before you continue.";
        var note = new MessageRecord
        {
            Id = Guid.CreateVersion7(now), TaskId = id, Role = MessageRoles.System, Kind = MessageKinds.Restore, Text = text, CreatedAt = now,
            Data = JsonSerializer.Serialize(new { restoredTo = restored.Id, checkpoint = answer.Value.Checkpoint.Id }, OsirisJson.Options),
        };
        db.Messages.Add(note);
        AuditLog.Add(db, time, http, AuditActions.TaskRestore, $"task:{id}", new { checkpoint = restored.Id, recordedAs = answer.Value.Checkpoint.Id });
        await publisher.PublishAsync(db,
        [
            new EventDraft(EventTypes.NewMessage, id, TaskIntake.MessagePayload(note)),
            new EventDraft(EventTypes.SystemNotification, id, new SystemNotificationPayload(NotificationLevels.Info,
                $"\"{task.Title}\": workspace restored to checkpoint {restored.Id} by {actor}.")),
        ], ct);
        return TypedResults.Ok(answer.Value);
    }

    /// <summary>
    /// A new task that starts from a checkpoint: the workspace as it was there, the conversation up to the call that made
    /// it, the original's limits (source, tool mode, sender level, knowledge scope) — and no way back to a channel
    /// sender: a fork never replies to WhatsApp or e-mail.
    /// </summary>
    public static async Task<Results<Created<TaskDto>, ProblemHttpResult>> Fork(Guid id, string checkpointId, ForkRequest? request, HttpContext http,
        OsirisDbContext db, EventPublisher publisher, CheckpointClient checkpoints, TimeProvider time, CancellationToken ct)
    {
        request ??= new ForkRequest();
        var original = await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
        if (original is null)
        {
            return TaskProblems.NotFound(id);
        }
        var list = await checkpoints.ListAsync(id, ct);
        if (!list.Ok)
        {
            return Problem(list);
        }
        if (list.Value!.Items.FirstOrDefault(c => c.Id == checkpointId) is not { } checkpoint)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such checkpoint", detail: $"Task {id} has no checkpoint '{checkpointId}'.");
        }

        var now = time.UtcNow();
        var stored = await db.Messages.AsNoTracking().Where(m => m.TaskId == id).OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).ToListAsync(ct);
        var copied = ConversationUpTo(stored, checkpoint);
        var cutTime = copied.Count > 0 ? copied[^1].CreatedAt : original.CreatedAt;
        var fork = Linked(original, OriginKinds.Fork, checkpoint.Id, $"Fork of {original.Title}",
            request.Brain ?? (original.Brain == BrainNames.Replay ? null : original.Brain),
            request.Model ?? (request.Brain is null && original.Brain != BrainNames.Replay ? original.Model : null), now);
        fork.Step = copied.Select(StepOf).Max() ?? 0;

        // The workspace first: the agent must never start the fork on an empty folder.
        var made = await checkpoints.ForkAsync(id, checkpoint.Id, fork.Id, ct);
        if (!made.Ok)
        {
            return Problem(made);
        }
        db.Tasks.Add(fork);
        foreach (var message in copied)
        {
            db.Messages.Add(new MessageRecord
            {
                Id = Guid.CreateVersion7(message.CreatedAt), TaskId = fork.Id, Role = message.Role, Kind = message.Kind, Text = message.Text,
                Model = message.Model, CreatedAt = message.CreatedAt, Data = message.Data,
            });
        }
        var artifacts = await db.Artifacts.AsNoTracking().Where(a => a.TaskId == id).OrderBy(a => a.Id).ToListAsync(ct);
        foreach (var artifact in artifacts.Where(a => a.CreatedAt <= cutTime))
        {
            db.Artifacts.Add(new ArtifactRecord { TaskId = fork.Id, Path = artifact.Path, Version = artifact.Version, Diff = artifact.Diff, Size = artifact.Size, CreatedAt = artifact.CreatedAt });
        }
        var drafts = new List<EventDraft> { new(EventTypes.TaskCreated, fork.Id, fork.ToDto()) };
        if (request.Message is { Length: > 0 } words)
        {
            var said = TaskIntake.PersonMessage(fork, words, now.AddTicks(1));
            db.Messages.Add(said);
            drafts.Add(new EventDraft(EventTypes.NewMessage, fork.Id, TaskIntake.MessagePayload(said)));
        }
        AuditLog.Add(db, time, http, AuditActions.TaskFork, $"task:{id}", new { checkpoint = checkpoint.Id, fork = fork.Id });
        await publisher.PublishAsync(db, drafts, ct);
        return TypedResults.Created($"/api/v1/tasks/{fork.Id}", fork.ToDto());
    }

    /// <summary>
    /// A new task that runs a finished task again in a fresh workspace: the hidden <c>replay</c> brain answers each model
    /// turn as the model did in the recording, the tools run for real, and the first tool result that differs is reported.
    /// The replay keeps the original's tool mode (approvals are asked again) and never replies to a channel sender.
    /// </summary>
    public static async Task<Results<Created<TaskDto>, ProblemHttpResult>> Replay(Guid id, HttpContext http, OsirisDbContext db, EventPublisher publisher,
        TimeProvider time, CancellationToken ct)
    {
        var original = await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
        if (original is null)
        {
            return TaskProblems.NotFound(id);
        }
        if (original.Status is not (TaskStatuses.Completed or TaskStatuses.Failed))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Task is not finished",
                detail: $"Task {id} is {original.Status}; only a completed or failed run can be replayed.");
        }
        if (!await db.Messages.AnyAsync(m => m.TaskId == id && m.Role == MessageRoles.Assistant, ct))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Nothing recorded",
                detail: $"Task {id} has no recorded model turns to replay.");
        }
        var now = time.UtcNow();
        var replay = Linked(original, OriginKinds.Replay, null, $"Replay of {original.Title}", BrainNames.Replay, BrainNames.ReplayModel, now);
        db.Tasks.Add(replay);
        AuditLog.Add(db, time, http, AuditActions.TaskReplay, $"task:{id}", new { replay = replay.Id });
        await publisher.PublishAsync(db, EventTypes.TaskCreated, replay.Id, replay.ToDto(), ct);
        return TypedResults.Created($"/api/v1/tasks/{replay.Id}", replay.ToDto());
    }

    /// <summary>
    /// A task made from another: it keeps the original's source, tool mode, sender, sender level and knowledge scope (so
    /// a stranger's words stay marked untrusted and their limits hold) but gets no reply address — it never answers a
    /// channel sender — and says where it came from.
    /// </summary>
    private static TaskRecord Linked(TaskRecord original, string kind, string? checkpointId, string title, string? brain, string? model, DateTimeOffset now)
    {
        var task = TaskIntake.NewTaskRecord(new NewTask(Shorten(title), original.Description, original.Source, brain, model, original.RequireApproval), now);
        task.ToolMode = original.EffectiveToolMode;
        task.SenderLevel = original.SenderLevel;
        task.Sender = original.Sender;
        task.KnowledgeCollections = original.KnowledgeCollections;
        task.OriginKind = kind;
        task.OriginTaskId = original.Id;
        task.OriginCheckpointId = checkpointId;
        return task;
    }

    /// <summary>
    /// The stored messages a fork starts with: up to the result of the call that made the checkpoint (for the start
    /// checkpoint: up to the turn of the first change; for others: up to the checkpoint's time), without calls left
    /// with no result.
    /// </summary>
    public static List<MessageRecord> ConversationUpTo(List<MessageRecord> stored, CheckpointDto checkpoint)
    {
        int cut;
        var afterCall = checkpoint.CallId is { } callId && checkpoint.Tool is not null
            ? stored.FindIndex(m => m.Kind == MessageKinds.ToolResult && CallIdOf(m) == callId) : -1;
        var beforeCall = checkpoint.CallId is { } startCall && checkpoint.Tool is null
            ? stored.FindIndex(m => m.Kind == MessageKinds.ToolCall && CallIdOf(m) == startCall) : -1;
        if (afterCall >= 0)
        {
            cut = afterCall + 1;
        }
        else if (beforeCall >= 0)
        {
            cut = beforeCall;
            while (cut > 0 && stored[cut - 1].Role == MessageRoles.Assistant && stored[cut - 1].Kind is MessageKinds.Text or MessageKinds.Thought)
            {
                cut--;
            }
        }
        else
        {
            cut = stored.Count(m => m.CreatedAt <= checkpoint.CreatedAt);
        }
        var kept = stored.Take(cut).ToList();
        var answered = kept.Where(m => m.Kind == MessageKinds.ToolResult).Select(CallIdOf).ToHashSet();
        return [.. kept.Where(m => m.Kind != MessageKinds.ToolCall || answered.Contains(CallIdOf(m)))];
    }

    private static string? CallIdOf(MessageRecord message) =>
        DataProperty(message, "callId") is { ValueKind: JsonValueKind.String } id ? id.GetString() : null;

    private static int? StepOf(MessageRecord message) =>
        message.Kind == MessageKinds.ToolCall && DataProperty(message, "step") is { ValueKind: JsonValueKind.Number } step ? step.GetInt32() : null;

    /// <summary>One property of a stored message's data (a copy: the parsed document is returned to its pool).</summary>
    private static JsonElement? DataProperty(MessageRecord message, string name)
    {
        if (ParseData(message.Data) is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty(name, out var value))
        {
            return value;
        }
        return null;
    }

    private static JsonElement? ParseData(string? data)
    {
        if (data is null)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(data);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string title) => title.Length <= 200 ? title : title[..199] + "…";

    private static ProblemHttpResult Problem<T>(CheckpointClient.Answer<T> answer) => answer.Status switch
    {
        HttpStatusCode.Conflict => TypedResults.Problem(statusCode: 409, title: "A tool is running", detail: answer.Detail),
        HttpStatusCode.NotFound => TypedResults.Problem(statusCode: 404, title: "No such checkpoint", detail: answer.Detail),
        _ => TypedResults.Problem(statusCode: 503, title: "Workspaces unavailable",
            detail: answer.Detail ?? "The MCP server, which keeps the workspaces, did not answer."),
    };
}
