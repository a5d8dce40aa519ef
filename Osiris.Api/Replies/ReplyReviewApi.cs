using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Tasks;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Replies;

/// <summary><c>POST /api/v1/tasks/{id}/replies/{replyId}</c>: a person sends (perhaps edited) or discards a reply in review.</summary>
public static class ReplyReviewApi
{
    public static RouteGroupBuilder MapReplyReviewApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").RequireRole(Policies.Operator).ValidateRequests().WithTags("Tasks");
        group.MapPost("/{id:guid}/replies/{replyId:guid}", Decide);
        return group;
    }

    public sealed record ReplyOutcome(Guid Id, string Status, string Text);

    public static async Task<Results<Ok<ReplyOutcome>, ProblemHttpResult>> Decide(Guid id, Guid replyId, ReplyDecision decision, HttpContext http,
        OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var task = await db.Tasks.SingleOrDefaultAsync(t => t.Id == id, ct);
        var delivery = await db.Deliveries.SingleOrDefaultAsync(d => d.Id == replyId && d.TaskId == id, ct);
        if (task is null || delivery is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Reply not found", detail: $"Task {id} has no reply {replyId}.");
        }
        var send = decision.Action == ReplyDecision.Send;
        var text = send && decision.Text is { } edited ? edited : delivery.Text ?? task.Result ?? "";
        var status = send ? DeliveryStatuses.Queued : DeliveryStatuses.Discarded;

        // Only the first decision counts, even when two people click at once.
        await using var append = await publisher.BeginAsync(db, ct);
        var now = time.UtcNow();
        var decided = await db.Deliveries.Where(d => d.Id == replyId && d.Status == DeliveryStatuses.Review)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, status).SetProperty(d => d.Text, text).SetProperty(d => d.UpdatedAt, now), ct);
        if (decided == 0)
        {
            return TaskProblems.AlreadyDecided(replyId, delivery.Status);
        }
        AuditLog.Add(db, time, http, send ? AuditActions.ReplySend : AuditActions.ReplyDiscard, $"task:{id}",
            new { replyId, edited = send && decision.Text is not null });
        // The update without a reply takes the card off every screen; the dispatcher wakes on it and sends.
        append.Add(EventTypes.TaskUpdate, task.Id, task.ToUpdate());
        append.Add(EventTypes.SystemNotification, task.Id, new SystemNotificationPayload(NotificationLevels.Info, send
            ? $"{AuditLog.Actor(http)} approved the reply to {task.Sender ?? task.ReplyAddress}{(decision.Text is null ? "" : " (edited)")}; sending."
            : $"{AuditLog.Actor(http)} discarded the reply to {task.Sender ?? task.ReplyAddress}; nothing was sent."));
        await append.CommitAsync(ct);
        return TypedResults.Ok(new ReplyOutcome(replyId, status, text));
    }
}
