using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

public sealed record NewTask(string Title, string Description, string Source, string? Brain, string? Model, bool RequireApproval,
    string? ExternalId = null, string? IdempotencyKey = null, IReadOnlyList<string>? KnowledgeCollections = null);

/// <summary>How work enters OSIRIS, whatever the channel: the task and its event commit together.</summary>
public static class TaskIntake
{
    public static async Task<TaskDto> CreateAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time, NewTask request,
        CancellationToken ct)
    {
        var task = NewTaskRecord(request, time.UtcNow());
        db.Tasks.Add(task);
        var dto = task.ToDto();
        await publisher.PublishAsync(db, EventTypes.TaskCreated, task.Id, dto, ct);
        return dto;
    }

    public static TaskRecord NewTaskRecord(NewTask request, DateTimeOffset now) => new()
    {
        Id = Guid.CreateVersion7(now),
        Title = request.Title,
        Description = request.Description,
        Source = request.Source,
        ExternalId = request.ExternalId,
        IdempotencyKey = request.IdempotencyKey,
        Status = TaskStatuses.Queued,
        Brain = request.Brain,
        Model = request.Model,
        RequireApproval = request.RequireApproval,
        ToolMode = request.RequireApproval ? ToolModes.ApproveRisky : ToolModes.Autonomous,
        KnowledgeCollections = KnowledgeScopes.Format(request.KnowledgeCollections),
        CreatedAt = now,
        UpdatedAt = now,
    };

    public static async Task<NewMessagePayload> AddPersonMessageAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time,
        TaskRecord task, string text, CancellationToken ct)
    {
        var message = PersonMessage(task, text, time.UtcNow());
        db.Messages.Add(message);
        var payload = MessagePayload(message);
        await publisher.PublishAsync(db, EventTypes.NewMessage, task.Id, payload, ct);
        return payload;
    }

    public static MessageRecord PersonMessage(TaskRecord task, string text, DateTimeOffset now) => new()
    {
        Id = Guid.CreateVersion7(now),
        TaskId = task.Id,
        Role = MessageRoles.User,
        Kind = MessageKinds.Text,
        Text = text,
        CreatedAt = now,
    };

    /// <summary>Stages a system note in the task's conversation (who cancelled, who approved); the agent never reads these.</summary>
    public static MessageRecord SystemNote(OsirisDbContext db, Guid taskId, DateTimeOffset at, string text)
    {
        var note = new MessageRecord
        {
            Id = Guid.CreateVersion7(at), TaskId = taskId, Role = MessageRoles.System, Kind = MessageKinds.Text, CreatedAt = at, Text = text,
        };
        db.Messages.Add(note);
        return note;
    }

    public static NewMessagePayload MessagePayload(MessageRecord message) =>
        new(message.Id, message.Role, message.Kind, message.Text, Delta: null, Final: true, Model: message.Model);
}
