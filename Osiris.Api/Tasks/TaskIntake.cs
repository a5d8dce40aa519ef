using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

public sealed record NewTask(string Title, string Description, string Source, string? Brain, string? Model, bool RequireApproval, string? ExternalId = null);

/// <summary>How work enters OSIRIS, whatever the channel: the task and its event commit together.</summary>
public static class TaskIntake
{
    public static async Task<TaskDto> CreateAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time, NewTask request,
        CancellationToken ct, params EventDraft[] alsoPublish)
    {
        var now = time.UtcNow();
        var task = new TaskRecord
        {
            Id = Guid.CreateVersion7(now),
            Title = request.Title,
            Description = request.Description,
            Source = request.Source,
            ExternalId = request.ExternalId,
            Status = TaskStatuses.Queued,
            Brain = request.Brain,
            Model = request.Model,
            RequireApproval = request.RequireApproval,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Tasks.Add(task);
        var dto = TaskDto.From(task);
        await publisher.PublishAsync(db, [new EventDraft(EventTypes.TaskCreated, task.Id, dto), .. alsoPublish], ct);
        return dto;
    }

    public static async Task<NewMessagePayload> AddPersonMessageAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time,
        TaskRecord task, string text, CancellationToken ct)
    {
        var message = new MessageRecord
        {
            Id = Guid.CreateVersion7(time.GetUtcNow()),
            TaskId = task.Id,
            Role = "user",
            Kind = "text",
            Text = text,
            CreatedAt = time.UtcNow(),
        };
        db.Messages.Add(message);
        var payload = new NewMessagePayload(message.Id, message.Role, message.Kind, text, Delta: null, Final: true, Model: null);
        await publisher.PublishAsync(db, EventTypes.NewMessage, task.Id, payload, ct);
        return payload;
    }
}
