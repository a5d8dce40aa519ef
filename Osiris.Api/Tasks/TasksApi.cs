using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Tasks;

public static class TasksApi
{
    public const string LastEventIdHeader = "X-Last-Event-Id";

    public static RouteGroupBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Tasks");

        group.MapPost("/", CreateTask).RequireRole(Policies.Operator);
        group.MapGet("/", ListTasks);
        group.MapGet("/{id:guid}", GetTask);
        group.MapGet("/{id:guid}/events", GetTaskEvents);
        group.MapPost("/{id:guid}/messages", PostMessage).RequireRole(Policies.Operator);
        group.MapPost("/{id:guid}/cancel", CancelTask).RequireRole(Policies.Operator);

        return group;
    }

    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>
    /// With an <c>Idempotency-Key</c> header (at most 100 characters), a repeated create — a retry after a timeout, a
    /// double click — answers with the task the first one made instead of making another.
    /// </summary>
    public static async Task<Results<Created<TaskDto>, ValidationProblem>> CreateTask(
        CreateTaskRequest request, [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        if (idempotencyKey is { Length: 0 or > 100 })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["An Idempotency-Key has 1 to 100 characters."] });
        }
        if (idempotencyKey is not null && await ExistingAsync(db, idempotencyKey, ct) is { } earlier)
        {
            return TypedResults.Created($"/api/v1/tasks/{earlier.Id}", earlier);
        }
        if (request.KnowledgeCollections is { Count: > 0 } wanted)
        {
            var known = await db.KnowledgeCollections.Where(c => wanted.Contains(c.Name)).Select(c => c.Name).ToListAsync(ct);
            if (wanted.Except(known).ToList() is { Count: > 0 } unknown)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["knowledgeCollections"] = [$"No collection named {string.Join(", ", unknown.Select(n => $"'{n}'"))}."],
                });
            }
        }
        try
        {
            var task = await TaskIntake.CreateAsync(db, publisher, time, new NewTask(
                request.Title!.Trim(), request.Description!, request.Source ?? TaskSources.Api,
                request.Brain, request.Model, request.RequireApproval ?? false, IdempotencyKey: idempotencyKey,
                KnowledgeCollections: request.KnowledgeCollections), ct);
            return TypedResults.Created($"/api/v1/tasks/{task.Id}", task);
        }
        catch (DbUpdateException e) when (idempotencyKey is not null && e.IsUniqueViolation())
        {
            // The same key arrived twice at once; the other request made the task.
            db.ChangeTracker.Clear();
            var winner = (await ExistingAsync(db, idempotencyKey, ct))!;
            return TypedResults.Created($"/api/v1/tasks/{winner.Id}", winner);
        }
    }

    private static async Task<TaskDto?> ExistingAsync(OsirisDbContext db, string key, CancellationToken ct) =>
        (await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.IdempotencyKey == key, ct))?.ToDto();

    public static async Task<Ok<TaskPage>> ListTasks(
        HttpContext http, OsirisDbContext db, [AsParameters] TaskListQuery query, CancellationToken ct)
    {
        var statuses = query.Statuses;

        // The newest event id is read before the tasks: a client that subscribes from it may see an event twice
        // (already reflected in the list), never miss one.
        var lastEventId = await db.Events.MaxAsync(e => (long?)e.Id, ct) ?? 0;
        http.Response.Headers[LastEventIdHeader] = lastEventId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var tasks = db.Tasks.AsNoTracking();
        if (statuses.Length > 0)
        {
            tasks = tasks.Where(t => statuses.Contains(t.Status));
        }
        int p = query.Page ?? 1, size = query.PageSize ?? 50;
        var total = await tasks.CountAsync(ct);
        var items = await tasks.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id)
            .Skip((p - 1) * size).Take(size).ToListAsync(ct);
        return TypedResults.Ok(new TaskPage(items.Select(t => t.ToDto()).ToList(), total, p, size));
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> GetTask(Guid id, OsirisDbContext db, CancellationToken ct)
    {
        var task = await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
        return task is null ? TaskProblems.NotFound(id) : TypedResults.Ok(task.ToDto());
    }

    public static async Task<Results<Ok<List<OsirisEvent>>, ProblemHttpResult>> GetTaskEvents(
        Guid id, OsirisDbContext db, long? after, int? limit, CancellationToken ct)
    {
        if (!await db.Tasks.AnyAsync(t => t.Id == id, ct))
        {
            return TaskProblems.NotFound(id);
        }
        var take = Math.Clamp(limit ?? 1000, 1, 5000);
        var records = await db.Events.AsNoTracking()
            .Where(e => e.TaskId == id && e.Id > (after ?? 0))
            .OrderBy(e => e.Id).Take(take).ToListAsync(ct);
        return TypedResults.Ok(records.Select(EventPublisher.ToEvent).ToList());
    }

    public static async Task<Results<Accepted<NewMessagePayload>, ProblemHttpResult>> PostMessage(
        Guid id, PostMessageRequest request, OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TaskProblems.NotFound(id);
        }
        if (!TaskStatuses.IsOpen(task.Status))
        {
            return TaskProblems.Closed(task);
        }

        var message = await TaskIntake.AddPersonMessageAsync(db, publisher, time, task, request.Text!, ct);
        return TypedResults.Accepted($"/api/v1/tasks/{id}/events", message);
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> CancelTask(
        Guid id, HttpContext http, OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
        {
            return TaskProblems.NotFound(id);
        }
        if (!TaskStatuses.IsOpen(task.Status))
        {
            return TaskProblems.Closed(task);
        }

        // Conditional, inside the append transaction: a task the agent closed a moment ago is not cancelled after the fact.
        await using var append = await publisher.BeginAsync(db, ct);
        var now = time.UtcNow();
        var changed = await db.Tasks.Where(t => t.Id == id && TaskStatuses.Open.Contains(t.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Cancelled).SetProperty(t => t.UpdatedAt, now), ct);
        if (changed == 0)
        {
            await db.Entry(task).ReloadAsync(ct);
            return TaskProblems.Closed(task);
        }
        await db.Entry(task).ReloadAsync(ct);
        // The conversation says who stopped it (a system note: the agent never reads it, it has stopped).
        var note = TaskIntake.SystemNote(db, task.Id, now, $"Cancelled by {Audit.AuditLog.Actor(http)}.");
        Audit.AuditLog.Add(db, time, http, AuditActions.TaskCancel, $"task:{id}", null);
        append.Add(EventTypes.TaskUpdate, task.Id, task.ToUpdate());
        append.Add(EventTypes.NewMessage, task.Id, TaskIntake.MessagePayload(note));
        await append.CommitAsync(ct);
        return TypedResults.Ok(task.ToDto());
    }
}
